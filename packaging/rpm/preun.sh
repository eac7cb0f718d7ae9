# %preun of virtdiag (as %systemd_preun): on erase, stop and disable the unit.
if [ "$1" -eq 0 ] && [ -d /run/systemd/system ]; then
	systemctl --no-reload disable --now virtdiag.service >/dev/null 2>&1 || :
fi
exit 0
