# %postun of virtdiag (as %systemd_postun_with_restart). RPM has no purge: the
# spool under /var/log/virtdiag and the virtdiag user are kept on erase.
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null 2>&1 || :
	if [ "$1" -ge 1 ]; then
		systemctl try-restart virtdiag.service >/dev/null 2>&1 || :
	fi
fi
exit 0
