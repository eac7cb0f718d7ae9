# %pre of virtdiag: create the system group and user before files are owned.
getent group virtdiag >/dev/null || groupadd -r virtdiag
getent passwd virtdiag >/dev/null || \
	useradd -r -g virtdiag -d /nonexistent -M -s /usr/sbin/nologin \
		-c "virtdiag agent" virtdiag
exit 0
