# %post of virtdiag (as %systemd_post): on first install, apply the preset.
if [ "$1" -eq 1 ] && [ -d /run/systemd/system ]; then
	systemctl --no-reload preset virtdiag.service >/dev/null 2>&1 || :
fi
exit 0
