#!/bin/bash
# bed.sh: a private real-libvirt test bed for virtdiag on Debian 12 (root, systemd not required).
#
# A root libvirtd + virtlogd whose sockets, logs and pid files live in the bed folder, and tiny
# TCG guests (Debian cloud kernel + busybox-static initramfs) that do real I/O every second:
# read vda, write vdb (O_DIRECT), ping ff02::1 on eth0. Guest networking is IPv6 link-local only:
# no IPv4 address is configured anywhere, on the guest or on the host end of its tap.
#
# Usage: bed.sh COMMAND [ARGS]
#   install              install missing Debian packages (libvirt daemon/clients/dev, QEMU, socat,
#                        jq, cpio); QEMU comes from <codename>-backports through a private apt
#                        sources list when the plain one conflicts with a backported qemu-utils
#   guest                build (or reuse) the guest kernel + initramfs in $VIRTDIAG_BED/guest
#   up                   start the private libvirtd + virtlogd and wait until they answer
#   setup                install + guest + up (install and guest run in parallel)
#   vm NAME IDX [--nova] [--busy] [--enospc SECONDS] [--panic SECONDS]
#                        boot one guest (128 MiB, 1 vCPU, vda+vdb, an empty IDE CD-ROM hdc, NIC with tap NAME-t0, balloon
#                        stats every 5 s, serial console in vm/NAME.console) and wait for it;
#                        IDX (0-255) fixes its MAC and UUID; --nova adds Nova instance metadata;
#                        --busy makes the guest spin one vCPU in a loop; --enospc N puts vdb on a
#                        4 MiB tmpfs that the guest fills N seconds after boot (QEMU pauses it:
#                        reason ioerror);
#                        --panic N adds a pvpanic device, on_crash preserve, and panics the guest
#                        N seconds after boot (libvirt: crashed, panicked)
#   dense N              boot guests dense-001 .. dense-N (N 1-255; those running are kept): KVM,
#                        32 MiB, 1 vCPU, no OS (SeaBIOS finds nothing to boot and halts the vCPU:
#                        about 0.6 % of a core each), a 1 MiB raw vda, a NIC with tap dense-NNN-t0,
#                        a balloon with stats every 5 s; waits until their QEMUs are quiet (each
#                        start costs seconds of CPU). For cost measurements with many running
#                        domains (their counters exist but barely move; `check` is for `vm` guests)
#   down                 destroy the bed's guests, stop its daemons by PID, remove leftovers
#                        (also after a failed or partial up)
#   status               daemons, sockets, guests, taps
#   check [SECONDS]      read `virsh domstats --raw` twice, SECONDS apart (default 6), and fail
#                        unless every guest's cpu, vcpu, balloon, vda reads, vdb writes and NIC
#                        rx/tx counters moved
#   libvirtd kill|start  SIGKILL the bed's libvirtd (guests keep running) / start it again
#   env                  print shell exports: VIRTDIAG_BED, BED_URI, BED_URI_RO, BED_TEST_URI
#   unprivileged         check that user nobody can use the read-only socket (mode 0777, path
#                        traversable, `virsh -r list` works)
#   unprivileged CMD...  run CMD as nobody:nogroup with no supplementary groups
#
# Environment:
#   VIRTDIAG_BED          bed folder, absolute (default /var/tmp/virtdiag-bed)
#   BED_UP_TIMEOUT        seconds to wait for the daemons (default 60)
#   BED_BOOT_TIMEOUT      seconds to wait for a guest to come up (default 180)
#   BED_STOP_TIMEOUT      seconds to wait for a process to exit after SIGTERM (default 20)
#   BED_RECONNECT_TIMEOUT seconds `libvirtd start` waits for the guests' monitors (default 120)
#   BED_LIBVIRTD_CONF_EXTRA  lines appended to libvirtd.conf at `up` (e.g. log_filters="1:qemu")
#
# Client URIs (see `bed.sh env`):
#   qemu+unix:///system?socket=$VIRTDIAG_BED/run/libvirt-sock        read-write, root only
#   qemu+unix:///system?socket=$VIRTDIAG_BED/run/libvirt-sock-ro     read-only, any user
#   test+unix:///default?socket=$VIRTDIAG_BED/run/libvirt-sock       test driver via the daemon
set -euo pipefail

BED=${VIRTDIAG_BED:-/var/tmp/virtdiag-bed}
UP_TIMEOUT=${BED_UP_TIMEOUT:-60}
APT_UPDATED=0
BOOT_TIMEOUT=${BED_BOOT_TIMEOUT:-180}
STOP_TIMEOUT=${BED_STOP_TIMEOUT:-20}
RECONNECT_TIMEOUT=${BED_RECONNECT_TIMEOUT:-120}

RUN=$BED/run        # sockets
LOGD=$BED/log       # daemon logs and their stdout/stderr
PIDD=$BED/pid       # pids recorded at start (ours) and the daemons' own pid files
ETC=$BED/etc        # daemon configuration
GUEST=$BED/guest    # kernel, modules, busybox, initramfs (cached)
VMD=$BED/vm         # per-guest disks, XML, console
APTD=$BED/apt       # private apt state for the backports route
URI="qemu+unix:///system?socket=$RUN/libvirt-sock"
URI_RO="qemu+unix:///system?socket=$RUN/libvirt-sock-ro"
TEST_URI="test+unix:///default?socket=$RUN/libvirt-sock"
QEMU=/usr/bin/qemu-system-x86_64
PKGS=(libvirt-daemon-system libvirt-clients libvirt-dev pkg-config socat jq cpio iproute2)
# Guest kernel modules, in load order (missing ones must be built into the kernel).
MODS=(virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_blk
      failover net_failover virtio_net virtio_balloon pvpanic pvpanic-mmio)

log() { echo "bed: $*" >&2; }
die() { echo "bed: error: $*" >&2; exit 1; }
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }

case $BED in
  /*) ;;
  *) die "VIRTDIAG_BED must be an absolute path (got '$BED')" ;;
esac
[[ $BED =~ ^[A-Za-z0-9._/-]+$ ]] || die "VIRTDIAG_BED may only contain [A-Za-z0-9._/-] (got '$BED')"

vsh() { virsh -q -c "$URI" "$@"; }

# poll TIMEOUT CMD...: run CMD every 0.2 s until it succeeds (0) or TIMEOUT seconds pass (1).
poll() {
  local timeout=$1; shift
  local deadline=$((SECONDS + timeout))
  while :; do
    "$@" && return 0
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

# alive PID COMM: PID runs and is COMM (/proc/PID/comm guards against a stale pid reused by
# another program); a zombie waiting for its parent counts as gone.
alive() {
  local st
  [[ "$(cat "/proc/$1/comm" 2>/dev/null)" == "$2" ]] || return 1
  st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ ${st:0:1} != Z ]]
}

gone() { ! alive "$1" "$2"; }

# pid_of COMM FILE: print the pid recorded in FILE if that process is alive and is COMM.
pid_of() {
  local comm=$1 file=$2 pid
  pid=$(cat "$file" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  alive "$pid" "$comm" || return 1
  echo "$pid"
}

# stop_pid PID COMM WHAT: SIGTERM, wait up to STOP_TIMEOUT, then SIGKILL; verified by comm.
stop_pid() {
  local pid=$1 comm=$2 what=$3
  gone "$pid" "$comm" && return 0
  kill -TERM "$pid" 2>/dev/null || true
  if poll "$STOP_TIMEOUT" gone "$pid" "$comm"; then
    log "stopped $what (pid $pid)"
    return 0
  fi
  log "$what (pid $pid) still running after ${STOP_TIMEOUT}s of SIGTERM: $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-200); sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  poll 10 gone "$pid" "$comm" || { log "$what (pid $pid) survived SIGKILL"; return 1; }
  log "killed $what (pid $pid)"
}

# ---------------------------------------------------------------------------------------- install
pkg_missing() {
  local p
  for p in "$@"; do
    [[ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null)" == ii* ]] || echo "$p"
  done
}

os_codename() {
  local c
  c=$(sed -n 's/^VERSION_CODENAME=//p' /etc/os-release | tr -d '"')
  [[ -n $c ]] || die "no VERSION_CODENAME in /etc/os-release"
  echo "$c"
}

# apt with the machine's own sources plus <codename>-backports, without touching /etc/apt or the
# machine's apt lists and caches. The mirror is read from this machine's apt configuration at run
# time (apt-get indextargets); it is never written into this repository.
bpo_apt() {
  local codename
  codename=$(os_codename)
  mkdir -p "$APTD/lists/partial" "$APTD/cache/archives/partial"
  # shellcheck disable=SC2016 # $(...) are apt's format fields, not shell
  apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(COMPONENT)' 'Identifier: Packages' |
    awk -v c="$codename" '$2 == c { print "deb " $1 " " c "-backports " $3 }' | sort -u \
    >"$APTD/sources.list"
  [[ -s $APTD/sources.list ]] || die "no apt source for '$codename' found in apt-get indextargets"
  apt-get -o Dir::Etc::sourcelist="$APTD/sources.list" \
    -o Dir::State::lists="$APTD/lists" -o Dir::Cache="$APTD/cache" "$@"
}

cmd_install() {
  local missing need_qemu=0 inst_log
  mapfile -t missing < <(pkg_missing "${PKGS[@]}")
  [[ -x $QEMU ]] || need_qemu=1
  if ((${#missing[@]} == 0 && need_qemu == 0)); then
    log "install: all packages present ($(libvirtd --version 2>/dev/null | awk '{print $NF}'), QEMU $($QEMU --version | awk 'NR==1{print $4}'))"
    return 0
  fi
  mkdir -p "$LOGD"
  inst_log=$LOGD/install.log
  : >"$inst_log"
  log "install: missing: ${missing[*]}$( ((need_qemu)) && echo ' qemu-system-x86') (apt output in $inst_log)"
  export DEBIAN_FRONTEND=noninteractive
  apt_run() { "$@" >>"$inst_log" 2>&1 || { tail -n 30 "$inst_log" >&2; die "failed: $*"; }; }
  ((APT_UPDATED)) || apt_run apt-get update -q
  # --no-remove everywhere: the bed never removes a package the machine already has (plain
  # qemu-system-x86 would otherwise "solve" the conflict by removing a backported qemu-utils).
  if ((need_qemu == 0)); then
    apt_run apt-get install -y -q --no-install-recommends --no-remove "${missing[@]}"
  elif apt-get install -s -q --no-install-recommends --no-remove "${missing[@]}" qemu-system-x86 >>"$inst_log" 2>&1; then
    apt_run apt-get install -y -q --no-install-recommends --no-remove "${missing[@]}" qemu-system-x86
  else
    log "install: plain qemu-system-x86 is not installable here (a backported qemu-utils?): using backports"
    # Seed the private lists with the machine's so only the backports index is fetched.
    mkdir -p "$APTD/lists"
    cp -a /var/lib/apt/lists/. "$APTD/lists/" 2>/dev/null || true
    rm -f "$APTD/lists/lock"
    apt_run bpo_apt update -q
    # Two steps: libvirt & co. from the stable release first, then QEMU alone with backports as
    # the target release (its new dependencies come from there too; libvirt stays the stable one).
    ((${#missing[@]} == 0)) || apt_run apt-get install -y -q --no-install-recommends --no-remove "${missing[@]}"
    apt_run bpo_apt install -y -q --no-install-recommends --no-remove -t "$(os_codename)-backports" qemu-system-x86
  fi
  [[ -x $QEMU ]] || die "install: $QEMU still missing"
  log "install: done: libvirt $(libvirtd --version | awk '{print $NF}'), QEMU $($QEMU --version | awk 'NR==1{print $4}')"
}

# ------------------------------------------------------------------------------------------ guest
write_init() {
  cat <<'EOF'
#!/bin/busybox sh
# virtdiag bed guest: real disk and network I/O every second; IPv6 link-local only.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
exec </dev/console >/dev/console 2>&1
for m in $(cat /lib/mod/order); do insmod "/lib/mod/$m.ko" || echo "BEDGUEST error insmod $m"; done
arg() { sed -n "s/.*bed\.$1=\([^ ]*\).*/\1/p" /proc/cmdline; }
IDX=$(arg idx)
[ "$(arg busy)" = 1 ] && { while :; do :; done & }
# No IPv4 address, no router solicitation handling, no SLAAC: only the fe80:: address of eth0.
n=0
while [ ! -d /proc/sys/net/ipv6/conf/eth0 ] && [ $n -lt 50 ]; do sleep 0.1; n=$((n+1)); done
[ -d /proc/sys/net/ipv6/conf/eth0 ] || echo "BEDGUEST error no eth0"
echo 0 > /proc/sys/net/ipv6/conf/eth0/accept_ra
echo 0 > /proc/sys/net/ipv6/conf/eth0/autoconf
echo 0 > /proc/sys/net/ipv6/conf/eth0/accept_dad    # a point-to-point tap: nothing to detect
T_NET=$(cut -d' ' -f1 /proc/uptime)
ip link set lo up
ip link set eth0 up
LL=
n=0
while [ -z "$LL" ] && [ $n -lt 100 ]; do    # wait for DAD: if_inet6 flag 0x40 = tentative
  set -- $(grep ' eth0$' /proc/net/if_inet6 | grep '^fe80')
  if [ -n "${1:-}" ] && [ $((0x$5 & 0x40)) = 0 ]; then LL=$(echo "$1" | sed 's/..../&:/g; s/:$//'); fi
  [ -z "$LL" ] && sleep 0.1
  n=$((n+1))
done
# First traffic: wait up to ~10 s for a reply to ff02::1 from someone else (the host's tap end).
PEER=
n=0
while [ -z "$PEER" ] && [ $n -lt 10 ]; do
  PEER=$(ping -6 -c 2 -w 1 -I eth0 ff02::1 2>/dev/null | sed -n 's/.* from \([0-9a-f:]*\):.*/\1/p' |
    grep -v "^$(echo "$LL" | sed 's/:0*\([0-9a-f]\)/:\1/g; s/:0:0:0:/::/')\$" | head -n 1)
  n=$((n+1))
done
echo "BEDGUEST up idx=$IDX ll=$LL peer=${PEER:-none} uptime=$(cut -d' ' -f1 /proc/uptime) net_at=$T_NET"
# bed.fill=N: N seconds after the marker, write vdb as fast as it goes (a disk on a small tmpfs
# fills and QEMU pauses the guest).
F=$(arg fill)
[ -n "$F" ] && [ "$F" != 0 ] && { (sleep "$F"; while :; do dd if=/dev/zero of=/dev/vdb bs=1M oflag=direct 2>/dev/null; done) & }
# bed.panic=N: panic N seconds after the marker (a pvpanic device tells QEMU, and libvirt says crashed).
P=$(arg panic)
[ -n "$P" ] && [ "$P" != 0 ] && { (sleep "$P"; echo "BEDGUEST panicking"; echo c > /proc/sysrq-trigger) & }
i=0
while :; do
  dd if=/dev/vda of=/dev/null bs=64k count=16 skip=$((i % 200)) iflag=direct 2>/dev/null
  dd if=/dev/zero of=/dev/vdb bs=64k count=4 seek=$((i % 200)) oflag=direct 2>/dev/null
  ping -6 -c 1 -W 1 -I eth0 ff02::1 >/dev/null 2>&1
  i=$((i+1))
  sleep 1
done
EOF
}

# guest_fetch: kernel, modules and busybox from Debian's packages, cached in $GUEST.
guest_fetch() {
  local dl=$GUEST/dl kpkg kdeb bdeb tmp m f
  mkdir -p "$GUEST/mod" "$dl"
  chmod 755 "$BED" "$GUEST"
  # apt-get download fetches as user _apt when it can write the target folder.
  if getent passwd _apt >/dev/null; then chown _apt "$dl"; fi
  # A cache made for another module list is fetched again.
  if [[ ! -s $GUEST/vmlinuz || ! -s $GUEST/busybox || ! -s $GUEST/mod/order ||
        "$(cat "$GUEST/MODS" 2>/dev/null)" != "${MODS[*]}" ]]; then
    if ! apt-cache show linux-image-cloud-amd64 >/dev/null 2>&1; then
      log "guest: apt lists do not know linux-image-cloud-amd64: apt-get update"
      apt-get update -q >/dev/null
    fi
    kpkg=$(apt-cache depends linux-image-cloud-amd64 | awk '/Depends: linux-image-/ {print $2; exit}')
    [[ -n $kpkg ]] || die "guest: cannot resolve linux-image-cloud-amd64 to a kernel package"
    log "guest: downloading $kpkg and busybox-static"
    rm -f "$dl"/*.deb
    (cd "$dl" && apt-get download -q "$kpkg" busybox-static >/dev/null) || die "guest: apt-get download failed"
    kdeb=$(ls "$dl"/linux-image-*.deb)
    bdeb=$(ls "$dl"/busybox-static_*.deb)
    tmp=$(mktemp -d "$GUEST/x.XXXXXX")
    # Only the kernel image, the virtio modules and modules.builtin: much faster than dpkg-deb -x.
    dpkg-deb --fsys-tarfile "$kdeb" | tar -x -C "$tmp" --wildcards --no-wildcards-match-slash \
      './boot/vmlinuz-*' './lib/modules/*/modules.builtin' \
      --wildcards-match-slash '*/virtio*.ko*' '*/failover.ko*' '*/net_failover.ko*' '*/pvpanic*.ko*'
    dpkg-deb --fsys-tarfile "$bdeb" | tar -x -C "$tmp" ./bin/busybox
    rm -f "$GUEST"/mod/*
    : >"$GUEST/mod/order.new"
    for m in "${MODS[@]}"; do
      f=$(find "$tmp/lib/modules" -name "$m.ko*" | head -n 1)
      if [[ -z $f ]]; then
        grep -q "/$m.ko\$" "$tmp"/lib/modules/*/modules.builtin ||
          die "guest: module $m is neither in $kpkg nor built in"
        continue
      fi
      case $f in
        *.ko) cp "$f" "$GUEST/mod/$m.ko" ;;
        *.ko.xz) xz -dc "$f" >"$GUEST/mod/$m.ko" ;;
        *.ko.zst) zstd -qdc "$f" >"$GUEST/mod/$m.ko" ;;
        *) die "guest: unknown module format $f" ;;
      esac
      echo "$m" >>"$GUEST/mod/order.new"
    done
    cp "$tmp"/boot/vmlinuz-* "$GUEST/vmlinuz.new"
    cp "$tmp/bin/busybox" "$GUEST/busybox.new"
    mv "$GUEST/vmlinuz.new" "$GUEST/vmlinuz"
    mv "$GUEST/busybox.new" "$GUEST/busybox"
    mv "$GUEST/mod/order.new" "$GUEST/mod/order"
    echo "$(basename "$kdeb") $(basename "$bdeb")" >"$GUEST/SOURCE"
    echo "${MODS[*]}" >"$GUEST/MODS"
    rm -rf "$tmp" "$dl"
  fi
}

# guest_build: the initramfs (busybox, modules, init); needs cpio.
guest_build() {
  local tmp
  command -v cpio >/dev/null || die "guest: cpio is not installed: run '$0 install'"
  # The initramfs is cheap: rebuild it whenever the init script or the inputs changed.
  write_init >"$GUEST/init.new"
  if [[ -s $GUEST/initrd.gz ]] && cmp -s "$GUEST/init.new" "$GUEST/init" &&
     [[ ! $GUEST/busybox -nt $GUEST/initrd.gz && ! $GUEST/mod/order -nt $GUEST/initrd.gz ]]; then
    rm -f "$GUEST/init.new"
  else
    tmp=$(mktemp -d "$GUEST/r.XXXXXX")
    mkdir -p "$tmp"/{bin,lib/mod,proc,sys,dev,tmp}
    cp "$GUEST/busybox" "$tmp/bin/busybox"
    cp "$GUEST"/mod/*.ko "$GUEST/mod/order" "$tmp/lib/mod/"
    install -m 755 "$GUEST/init.new" "$tmp/init"
    (cd "$tmp" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 | gzip -6 >"$GUEST/initrd.gz.new")
    mv "$GUEST/initrd.gz.new" "$GUEST/initrd.gz"
    mv "$GUEST/init.new" "$GUEST/init"
    rm -rf "$tmp"
  fi
  chmod 644 "$GUEST/vmlinuz" "$GUEST/initrd.gz"
  log "guest: $(cat "$GUEST/SOURCE"): vmlinuz $(stat -c %s "$GUEST/vmlinuz") B, initrd.gz $(stat -c %s "$GUEST/initrd.gz") B"
}

cmd_guest() {
  guest_fetch
  guest_build
}

# --------------------------------------------------------------------------------------- daemons
# The root libvirtd keeps its driver state in /run/libvirt whatever its socket dir, and the QEMU
# driver talks to virtlogd at a fixed path: only one of each per machine, never shared.
foreign_daemons() {
  local comm pid mine
  for comm in libvirtd virtlogd; do
    mine=$(pid_of "$comm" "$PIDD/$comm.pid" || true)
    for pid in $(pgrep -x "$comm" || true); do
      [[ $pid == "$mine" ]] || ! alive "$pid" "$comm" || echo "$comm:$pid"
    done
  done
}

daemon_answers() {
  vsh version >/dev/null 2>&1 && [[ -S $RUN/libvirt-sock-ro ]] &&
    [[ "$(vsh capabilities 2>/dev/null)" == *"<domain type='qemu'"* ]]
}

# Done waiting: the daemon answers, or one of the two daemons has exited.
up_settled() {
  daemon_answers || ! pid_of libvirtd "$PIDD/libvirtd.pid" >/dev/null || ! pid_of virtlogd "$PIDD/virtlogd.pid" >/dev/null
}

up_seen() {
  local f
  log "what was seen:"
  for f in virtlogd libvirtd; do
    if pid_of "$f" "$PIDD/$f.pid" >/dev/null; then log "  $f running (pid $(cat "$PIDD/$f.pid"))"
    else log "  $f NOT running (recorded pid $(cat "$PIDD/$f.pid" 2>/dev/null || echo none))"; fi
  done
  log "  $RUN: $(find "$RUN" -mindepth 1 -printf '%f %m %y, ' 2>/dev/null)"
  log "  virsh version: $(vsh version 2>&1 | tail -n 2 | paste -sd' ' -)"
  log "  qemu domain type in capabilities: $(vsh capabilities 2>/dev/null | grep -c "<domain type='qemu'" || true)"
  for f in "$LOGD"/virtlogd.out "$LOGD"/libvirtd.out "$LOGD"/libvirtd.log; do
    [[ -s $f ]] && { log "  --- tail $f"; tail -n 15 "$f" >&2; }
  done
  return 0
}

up_failed() {
  local rc=$?
  trap - EXIT
  ((rc == 0)) && return 0
  log "up failed (exit $rc): tearing down what was started"
  cmd_down || true
  exit "$rc"
}

check_traversable() {
  local d=$BED
  while [[ $d != / ]]; do
    d=$(dirname "$d")
    (( 8#$(stat -c %a "$d") & 1 )) ||
      die "$d is not traversable by other users: qemu (libvirt-qemu) and nobody need it; choose another VIRTDIAG_BED"
  done
}

cmd_up() {
  local f foreign t0=$SECONDS
  for f in libvirtd virtlogd; do
    command -v "$f" >/dev/null || die "$f not installed: run '$0 install'"
  done
  [[ -x $QEMU ]] || die "$QEMU not installed: run '$0 install'"
  if pid_of libvirtd "$PIDD/libvirtd.pid" >/dev/null && pid_of virtlogd "$PIDD/virtlogd.pid" >/dev/null &&
     daemon_answers; then
    log "up: already running (libvirtd $(cat "$PIDD/libvirtd.pid"), virtlogd $(cat "$PIDD/virtlogd.pid"))"
    return 0
  fi
  if pid_of libvirtd "$PIDD/libvirtd.pid" >/dev/null || pid_of virtlogd "$PIDD/virtlogd.pid" >/dev/null; then
    log "up: a partial bed from an earlier run is there: taking it down first"
    cmd_down
  fi
  # Networks of the packaged config (the "default" one has an IPv4 subnet) must never start.
  f=$(find /etc/libvirt/qemu/networks/autostart -mindepth 1 -printf '%f ' 2>/dev/null || true)
  [[ -z $f ]] || die "up: libvirt networks are marked autostart ($f): the bed runs none; disable them with 'virsh net-autostart --disable NAME' or remove the links in /etc/libvirt/qemu/networks/autostart"
  foreign=$(foreign_daemons | paste -sd' ' -)
  [[ -z $foreign ]] || die "up: a libvirtd/virtlogd not started by this bed is running ($foreign): stop it first"
  mkdir -p "$BED" "$RUN" "$LOGD" "$PIDD" "$ETC" "$VMD"
  chmod 755 "$BED" "$RUN" "$VMD"
  check_traversable
  # Without udev /dev/kvm stays root:root 0600. QEMU's capability probe then sees KVM (it opens
  # /dev/kvm before dropping to libvirt-qemu) while libvirtd finds it unusable for that user, so
  # libvirtd throws its capability cache away and re-probes QEMU (about 4 s) on every lookup:
  # each 'virsh create' took about 60 s. Give /dev/kvm the owner and mode udev would give it.
  if [[ -c /dev/kvm ]] && getent group kvm >/dev/null &&
     [[ "$(stat -c %G:%a /dev/kvm)" != kvm:660 ]]; then
    log "up: /dev/kvm is $(stat -c %U:%G:%a /dev/kvm): setting root:kvm 0660 as udev would"
    chgrp kvm /dev/kvm
    chmod 0660 /dev/kvm
  fi
  rm -f "$RUN"/* "$PIDD"/*
  cat >"$ETC/virtlogd.conf" <<EOF
log_outputs = "3:file:$LOGD/virtlogd.log"
EOF
  cat >"$ETC/libvirtd.conf" <<EOF
unix_sock_dir = "$RUN"
unix_sock_group = "root"
unix_sock_ro_perms = "0777"
unix_sock_rw_perms = "0770"
auth_unix_ro = "none"
auth_unix_rw = "none"
listen_tcp = 0
listen_tls = 0
log_outputs = "3:file:$LOGD/libvirtd.log"
${BED_LIBVIRTD_CONF_EXTRA:-}
EOF
  for f in libvirtd.log virtlogd.log libvirtd.out virtlogd.out; do : >"$LOGD/$f"; done
  trap up_failed EXIT
  trap 'exit 130' INT TERM
  # setsid: the daemons get a process group of their own, without a terminal (a CI job killing its own
  # group must not take them down half-way); being exec'd, their pid is $!.
  setsid virtlogd -f "$ETC/virtlogd.conf" -p "$PIDD/virtlogd.own.pid" </dev/null >"$LOGD/virtlogd.out" 2>&1 &
  echo $! >"$PIDD/virtlogd.pid"
  poll 5 alive "$!" virtlogd || true
  start_libvirtd
  if ! poll "$UP_TIMEOUT" up_settled; then
    log "up: libvirtd did not answer on $RUN/libvirt-sock with the QEMU driver within ${UP_TIMEOUT}s"
    up_seen
    exit 1
  fi
  for f in virtlogd libvirtd; do
    pid_of "$f" "$PIDD/$f.pid" >/dev/null || { log "up: $f exited"; up_seen; exit 1; }
  done
  daemon_answers || { log "up: libvirtd does not answer"; up_seen; exit 1; }
  f=$(vsh net-list --name 2>/dev/null | paste -sd' ' -)
  [[ -z $f ]] || die "up: libvirt networks are active ($f); the bed runs none"
  trap - EXIT INT TERM
  log "up: libvirtd pid $(cat "$PIDD/libvirtd.pid"), virtlogd pid $(cat "$PIDD/virtlogd.pid"), ready after $((SECONDS - t0))s"
  log "up: $URI"
}

# For fault tests: kill the bed's libvirtd (SIGKILL, guests keep running) and start it again
# with the same configuration; it takes its running guests back.
start_libvirtd() {
  setsid libvirtd -f "$ETC/libvirtd.conf" -p "$PIDD/libvirtd.own.pid" </dev/null >>"$LOGD/libvirtd.out" 2>&1 &
  echo $! >"$PIDD/libvirtd.pid"
  # Until setsid has exec'd, /proc/PID/comm says "setsid": do not take that for an exit.
  poll 5 alive "$!" libvirtd || true
}

# guests_reconnected [-v]: every running guest has QEMU block stats (with --nowait a guest whose
# monitor is still busy reconnecting has none). -v prints the guests that do not.
guests_reconnected() {
  local d out missing=()
  for d in $(vsh list --name --state-running 2>/dev/null); do
    out=$(vsh domstats --raw --nowait --block "$d" 2>/dev/null || true)
    grep -q '^ *block\.0\.rd\.reqs=' <<<"$out" || missing+=("$d")
  done
  [[ ${1:-} == -v ]] && echo "${missing[*]:-none}"
  ((${#missing[@]} == 0))
}

cmd_libvirtd() {
  local pid t0=$SECONDS
  case ${1:-} in
    kill)
      pid=$(pid_of libvirtd "$PIDD/libvirtd.pid") || die "libvirtd kill: the bed's libvirtd is not running"
      kill -KILL "$pid"
      poll 10 gone "$pid" libvirtd || die "libvirtd kill: pid $pid survived SIGKILL"
      log "libvirtd kill: killed pid $pid"
      ;;
    start)
      if pid=$(pid_of libvirtd "$PIDD/libvirtd.pid"); then log "libvirtd start: already running (pid $pid)"; return 0; fi
      pid_of virtlogd "$PIDD/virtlogd.pid" >/dev/null || die "libvirtd start: virtlogd is not running: use '$0 up'"
      [[ -s $ETC/libvirtd.conf ]] || die "libvirtd start: no $ETC/libvirtd.conf: use '$0 up'"
      start_libvirtd
      if ! poll "$UP_TIMEOUT" up_settled || ! daemon_answers; then
        log "libvirtd start: no answer within ${UP_TIMEOUT}s"
        up_seen
        exit 1
      fi
      log "libvirtd start: pid $(cat "$PIDD/libvirtd.pid"), answering after $((SECONDS - t0))s"
      # It reconnects to each running QEMU's monitor in the background; when a previous libvirtd
      # was killed in the middle of that, the new connection can wait for QEMU's 30 s monitor
      # timeout per guest. Ready means every running guest answers a block stats query again.
      if ! poll "$RECONNECT_TIMEOUT" guests_reconnected; then
        log "libvirtd start: guests without monitor after ${RECONNECT_TIMEOUT}s: $(guests_reconnected -v)"
        exit 1
      fi
      log "libvirtd start: $(vsh list --name --state-running | grep -c . || true) guest(s) reconnected after $((SECONDS - t0))s"
      ;;
    *) die "usage: $0 libvirtd kill|start" ;;
  esac
}

# ------------------------------------------------------------------------------------------- vms
nova_metadata() {
  local name=$1 idx=$2
  cat <<EOF
  <metadata>
    <nova:instance xmlns:nova="http://openstack.org/xmlns/libvirt/nova/1.1">
      <nova:package version="bed"/>
      <nova:name>$name</nova:name>
      <nova:creationTime>$(date -u '+%Y-%m-%d %H:%M:%S')</nova:creationTime>
      <nova:flavor name="bed.tiny">
        <nova:memory>128</nova:memory>
        <nova:disk>1</nova:disk>
        <nova:swap>0</nova:swap>
        <nova:ephemeral>0</nova:ephemeral>
        <nova:vcpus>1</nova:vcpus>
      </nova:flavor>
      <nova:owner>
        <nova:user uuid="b3d0a5e7-0000-4000-8000-00000000a001">bed-user</nova:user>
        <nova:project uuid="b3d0a5e7-0000-4000-8000-00000000b001">bed-project</nova:project>
      </nova:owner>
      <nova:root type="image" uuid="b3d0a5e7-0000-4000-8000-$(printf '%012x' "$((0xc00 + idx))")"/>
    </nova:instance>
  </metadata>
EOF
}

# disk_xml NAME LETTER DEV [CACHE [DIR]]: the raw virtio disk DIR/NAME-LETTER.img as DEV
# (default: no host cache, in $VMD).
disk_xml() {
  cat <<EOF
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw' cache='${4:-none}'/>
      <source file='${5:-$VMD}/$1-$2.img'/>
      <target dev='$3' bus='virtio'/>
    </disk>
EOF
}

# nic_and_balloon_xml NAME MAC: the virtio NIC on tap NAME-t0 (no option ROM) and a balloon
# that refreshes its statistics every 5 s, as every bed guest has them.
nic_and_balloon_xml() {
  cat <<EOF
    <interface type='ethernet'>
      <mac address='$2'/>
      <target dev='$1-t0'/>
      <model type='virtio'/>
      <rom enabled='no'/>
    </interface>
    <memballoon model='virtio'>
      <stats period='5'/>
    </memballoon>
EOF
}

domain_xml() {
  local name=$1 idx=$2 nova=$3 busy=$4 enospc=${5:-0} panic=${6:-0}
  cat <<EOF
<domain type='qemu'>
  <name>$name</name>
  <uuid>b3d0b3d0-0000-4000-8000-$(printf '%012x' "$idx")</uuid>
$( ((nova)) && nova_metadata "$name" "$idx")
  <memory unit='MiB'>128</memory>
  <currentMemory unit='MiB'>128</currentMemory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$GUEST/vmlinuz</kernel>
    <initrd>$GUEST/initrd.gz</initrd>
    <cmdline>console=ttyS0 loglevel=4 panic=0 bed.idx=$idx bed.busy=$busy bed.fill=$enospc bed.panic=$panic</cmdline>
  </os>
  <features><acpi/></features>
  <on_crash>$( ((panic)) && echo preserve || echo destroy)</on_crash>
  <devices>
    <emulator>$QEMU</emulator>
$(disk_xml "$name" a vda)
$( if ((enospc)); then disk_xml "$name" b vdb writeback "$VMD/$name-tmpfs"; else disk_xml "$name" b vdb; fi)
$( ((panic)) && echo "    <panic model='isa'/>")
    <disk type='file' device='cdrom'>
      <driver name='qemu' type='raw'/>
      <target dev='hdc' bus='ide'/>
      <readonly/>
    </disk>
$(nic_and_balloon_xml "$name" "52:54:00:b3:d0:$(printf '%02x' "$idx")")
    <serial type='file'>
      <source path='$VMD/$name.console'/>
    </serial>
    <console type='file'>
      <source path='$VMD/$name.console'/>
      <target type='serial'/>
    </console>
  </devices>
</domain>
EOF
}

guest_up() { grep -q '^BEDGUEST up' "$1" 2>/dev/null || grep -q 'BEDGUEST error' "$1" 2>/dev/null; }

cmd_vm() {
  local name=${1:-} idx=${2:-} nova=0 busy=0 enospc=0 panic=0 tap con start state
  [[ -n $name && -n $idx ]] || { usage >&2; exit 2; }
  shift 2
  while (($#)); do
    case $1 in
      --nova) nova=1 ;;
      --busy) busy=1 ;;
      --enospc)
        enospc=${2:-}
        [[ $enospc =~ ^[1-9][0-9]{0,3}$ ]] || die "vm: --enospc takes the seconds after boot (1-9999)"
        shift ;;
      --panic)
        panic=${2:-}
        [[ $panic =~ ^[1-9][0-9]{0,3}$ ]] || die "vm: --panic takes the seconds after boot (1-9999)"
        shift ;;
      *) die "vm: unknown option $1" ;;
    esac
    shift
  done
  [[ $name =~ ^[a-z0-9][a-z0-9-]{0,11}$ ]] ||
    die "vm: NAME must match [a-z0-9][a-z0-9-]{0,11} (the tap NAME-t0 has at most 15 characters)"
  if ! [[ $idx =~ ^[0-9]{1,3}$ ]] || ((10#$idx > 255)); then die "vm: IDX must be 0..255"; fi
  idx=$((10#$idx))
  [[ -s $GUEST/vmlinuz && -s $GUEST/initrd.gz ]] || die "vm: no guest image: run '$0 guest'"
  vsh version >/dev/null 2>&1 || die "vm: the bed's libvirtd does not answer: run '$0 up'"
  tap=$name-t0
  con=$VMD/$name.console
  state=$(vsh domstate "$name" 2>/dev/null || true)
  if [[ $state == running ]]; then
    log "vm $name: already running"
    return 0
  elif [[ -n $state ]]; then
    die "vm $name: exists in state '$state'"
  fi
  start=$SECONDS
  mkdir -p "$VMD"
  truncate -s 16M "$VMD/$name-a.img" "$VMD/$name-b.img"
  if ((enospc)); then
    # vdb on a 4 MiB tmpfs: the guest's writes fill it and QEMU (werror=enospc) pauses it.
    mkdir -p "$VMD/$name-tmpfs"
    mountpoint -q "$VMD/$name-tmpfs" || mount -t tmpfs -o size=4m,mode=0755 tmpfs "$VMD/$name-tmpfs"
    truncate -s 16M "$VMD/$name-tmpfs/$name-b.img"
    chown libvirt-qemu:kvm "$VMD/$name-tmpfs/$name-b.img" 2>/dev/null || true
  fi
  domain_xml "$name" "$idx" "$nova" "$busy" "$enospc" "$panic" >"$VMD/$name.xml"
  rm -f "$con"
  vsh create "$VMD/$name.xml" >/dev/null
  # Host end of the tap: IPv6 link-local only (no address is added; the kernel makes the fe80::
  # one), no router advertisements taken; the guest's pings to ff02::1 are answered from it.
  if [[ -d /proc/sys/net/ipv6/conf/$tap ]]; then
    echo 0 >"/proc/sys/net/ipv6/conf/$tap/accept_ra"
    echo 0 >"/proc/sys/net/ipv6/conf/$tap/autoconf"
    echo 0 >"/proc/sys/net/ipv6/conf/$tap/accept_dad"
    echo 0 >"/proc/sys/net/ipv6/conf/$tap/disable_ipv6"
  else
    log "vm $name: warning: no tap $tap after create"
  fi
  if ! poll "$BOOT_TIMEOUT" guest_up "$con" || grep -q 'BEDGUEST error' "$con"; then
    log "vm $name: not up after $((SECONDS - start))s (limit ${BOOT_TIMEOUT}s); state: $(vsh domstate "$name" 2>&1 || true)"
    log "--- last lines of $con"
    tail -n 25 "$con" >&2 2>/dev/null || log "(no console output)"
    vsh destroy "$name" >/dev/null 2>&1 || true
    exit 1
  fi
  log "vm $name: $(grep -m1 '^BEDGUEST up' "$con"), tap $tap $(ip -br -6 addr show dev "$tap" 2>/dev/null | awk '{print $2, $3}'), up in $((SECONDS - start))s"
}

# ------------------------------------------------------------------------------------------ dense
# A guest with no OS: SeaBIOS finds no bootable disk (the image is zeros, the NIC has no option
# ROM) and, with rebootTimeout -1, halts instead of retrying, so under KVM its vCPU sleeps. It still
# has every device the statistics groups ask about: a disk, a NIC and a balloon.
dense_xml() {
  local name=$1 idx=$2
  cat <<EOF
<domain type='kvm'>
  <name>$name</name>
  <uuid>b3d0de45-0000-4000-8000-$(printf '%012x' "$idx")</uuid>
  <memory unit='MiB'>32</memory>
  <currentMemory unit='MiB'>32</currentMemory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <boot dev='hd'/>
    <bios rebootTimeout='-1'/>
  </os>
  <features><acpi/></features>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>$QEMU</emulator>
$(disk_xml "$name" a vda)
$(nic_and_balloon_xml "$name" "52:54:00:b3:de:$(printf '%02x' "$idx")")
  </devices>
</domain>
EOF
}

# dense_one IDX: create dense-IDX (3 digits) unless it runs; its tap gets what `vm` gives a tap.
dense_one() {
  local idx=$1 name tap state
  name=$(printf 'dense-%03d' "$idx")
  tap=$name-t0
  state=$(vsh domstate "$name" 2>/dev/null || true)
  [[ $state == running ]] && return 0
  [[ -z $state ]] || { log "dense: $name exists in state '$state'"; return 1; }
  truncate -s 1M "$VMD/$name-a.img"
  dense_xml "$name" "$idx" >"$VMD/$name.xml"
  vsh create "$VMD/$name.xml" >/dev/null || { log "dense: create $name failed"; return 1; }
  if [[ -d /proc/sys/net/ipv6/conf/$tap ]]; then
    echo 0 >"/proc/sys/net/ipv6/conf/$tap/accept_ra"
    echo 0 >"/proc/sys/net/ipv6/conf/$tap/autoconf"
    echo 0 >"/proc/sys/net/ipv6/conf/$tap/accept_dad"
  fi
}

# dense_settled: the dense guests' QEMUs together use at most 2 % of a core per guest over 3 s
# (halted, each uses about 1 %; while 50 start on 2 cores, each gets about 3 %).
# Starting one costs about 3 s of CPU (SeaBIOS under nested KVM exits often) before its vCPU
# halts; until then libvirt's calls on every guest wait for a CPU.
dense_settled() {
  local pids p before=0 after=0
  mapfile -t pids < <(bed_qemu_pids dense)
  ((${#pids[@]})) || return 1
  for p in "${pids[@]}"; do before=$((before + $(cpu_ticks "$p"))); done
  sleep 3
  for p in "${pids[@]}"; do after=$((after + $(cpu_ticks "$p" 2>/dev/null || echo 0))); done
  # The ticks over 3 s at most guests x 2 % x 3 s.
  ((100 * (after - before) <= ${#pids[@]} * 6 * $(getconf CLK_TCK)))
}

# cpu_ticks PID: utime + stime of PID in clock ticks (/proc/PID/stat).
cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }

cmd_dense() {
  local n=${1:-} i start=$SECONDS running fails=0
  local -a jobs=()
  [[ $n =~ ^[0-9]{1,3}$ ]] && ((10#$n >= 1 && 10#$n <= 255)) || die "dense: N must be 1..255"
  n=$((10#$n))
  [[ -c /dev/kvm ]] || die "dense: no /dev/kvm"
  vsh version >/dev/null 2>&1 || die "dense: the bed's libvirtd does not answer: run '$0 up'"
  mkdir -p "$VMD"
  # Four creates at a time: libvirtd spends most of a create waiting for QEMU to start.
  for i in $(seq 1 "$n"); do
    dense_one "$i" &
    jobs+=($!)
    if ((${#jobs[@]} == 4)); then
      wait "${jobs[0]}" || fails=$((fails + 1))
      jobs=("${jobs[@]:1}")
    fi
  done
  for i in "${jobs[@]}"; do wait "$i" || fails=$((fails + 1)); done
  running=$(vsh list --name --state-running | grep -c '^dense-' || true)
  ((fails == 0 && running >= n)) || die "dense: $fails create(s) failed"
  log "dense: $running dense guest(s) running after $((SECONDS - start))s; waiting for their vCPUs to halt"
  poll "$BOOT_TIMEOUT" dense_settled || die "dense: the guests' QEMUs still busy after ${BOOT_TIMEOUT}s"
  log "dense: settled after $((SECONDS - start))s"
}

# ------------------------------------------------------------------------------------------- down
# Our qemu processes: their command line names this bed's guest kernel, or a dense guest's disk
# (only the latter with the argument "dense").
bed_qemu_pids() {
  local p args dense
  for p in /proc/[0-9]*; do
    alive "${p#/proc/}" qemu-system-x86 || continue
    args=$'\n'"$(tr '\0' '\n' <"$p/cmdline" 2>/dev/null)"$'\n'
    dense=0
    [[ $args == *"\"$VMD/dense-"* ]] && dense=1
    if ((dense)) || [[ ${1:-} != dense && $args == *$'\n'"$GUEST/vmlinuz"$'\n'* ]]; then echo "${p#/proc/}"; fi
  done
  return 0
}

cmd_down() {
  local d pid f x rc=0
  if pid_of libvirtd "$PIDD/libvirtd.pid" >/dev/null && vsh version >/dev/null 2>&1; then
    # In parallel: each destroy waits for its QEMU to exit (about 2 s).
    local -a jobs=()
    for d in $(vsh list --name 2>/dev/null); do
      { if vsh destroy "$d" >/dev/null 2>&1; then log "destroyed $d"; else log "destroy $d failed"; fi; } &
      jobs+=($!)
    done
    ((${#jobs[@]} == 0)) || wait "${jobs[@]}" || true
  fi
  for pid in $(bed_qemu_pids); do
    stop_pid "$pid" qemu-system-x86 "qemu" || rc=1
  done
  for f in libvirtd virtlogd; do
    for x in "$PIDD/$f.pid" "$PIDD/$f.own.pid"; do
      pid=$(pid_of "$f" "$x" || true)
      [[ -n $pid ]] && { stop_pid "$pid" "$f" "$f" || rc=1; }
    done
  done
  # Taps of our guests that a killed daemon left behind.
  for x in "$VMD"/*.xml; do
    [[ -e $x ]] || continue
    d=$(basename "$x" .xml)-t0
    [[ -e /sys/class/net/$d ]] && ip link del "$d" 2>/dev/null && log "removed leftover tap $d"
  done
  # The small tmpfs of --enospc guests.
  for x in "$VMD"/*-tmpfs; do
    [[ -d $x ]] || continue
    if mountpoint -q "$x"; then umount "$x" || { log "cannot unmount $x"; rc=1; }; fi
    rmdir "$x" 2>/dev/null || true
  done
  rm -f "$RUN"/* "$PIDD"/* "$VMD"/*.img
  ((rc == 0)) && log "down: nothing of the bed is running (logs kept in $LOGD, consoles in $VMD)"
  return "$rc"
}

# ----------------------------------------------------------------------------------------- status
cmd_status() {
  local f pid
  echo "bed: $BED"
  for f in libvirtd virtlogd; do
    if pid=$(pid_of "$f" "$PIDD/$f.pid"); then echo "$f: running, pid $pid"
    else echo "$f: not running"; fi
  done
  echo "sockets: $(find "$RUN" -mindepth 1 -type s -printf '%f %m, ' 2>/dev/null)"
  [[ -s $GUEST/SOURCE ]] && echo "guest: $(cat "$GUEST/SOURCE")" || echo "guest: not built"
  if vsh version >/dev/null 2>&1; then
    echo "domains:"
    vsh list --all | sed 's/^/  /'
  fi
  echo "taps: $(ip -br link 2>/dev/null | awk '$1 ~ /-t0(@|$)/ {print $1}' | paste -sd' ' -)"
  echo "qemu pids: $(bed_qemu_pids | paste -sd' ' -)"
}

cmd_env() {
  printf 'export VIRTDIAG_BED=%q\n' "$BED"
  printf 'export BED_URI=%q\n' "$URI"
  printf 'export BED_URI_RO=%q\n' "$URI_RO"
  printf 'export BED_TEST_URI=%q\n' "$TEST_URI"
}

# ------------------------------------------------------------------------------------------ check
# Counters that must move on every guest between two readings: CPU, vCPU, balloon (updated every
# 5 s), reads on vda, writes on vdb, traffic both ways on the NIC.
CHECK_KEYS=(cpu.time vcpu.0.time balloon.last-update balloon.minor_fault
            vda.rd.reqs vda.rd.bytes vdb.wr.reqs vdb.wr.bytes
            net0.rx.bytes net0.rx.pkts net0.tx.bytes net0.tx.pkts)

# domstats --raw, one "DOMAIN KEY VALUE" line per counter, block.N.* renamed after the disk.
stats_flat() {
  vsh domstats --raw "$@" | awk '
    /^Domain: / { d = $2; gsub("\047", "", d); delete name; next }
    /=/ {
      sub(/^ +/, ""); k = substr($0, 1, index($0, "=") - 1); v = substr($0, index($0, "=") + 1)
      if (k ~ /^block\.[0-9]+\.name$/) { split(k, a, "."); name[a[2]] = v; next }
      if (k ~ /^block\.[0-9]+\./) { split(k, a, "."); if (a[2] in name) sub(/^block\.[0-9]+/, name[a[2]], k) }
      sub(/^net\.0\./, "net0.", k)
      print d, k, v
    }'
}

cmd_check() {
  local secs=${1:-6} a b doms fails=0 total=0 d k v0 v1
  [[ $secs =~ ^[0-9]+$ ]] || die "check: SECONDS must be a whole number"
  mapfile -t doms < <(vsh list --name --state-running | grep .)
  ((${#doms[@]})) || die "check: no running guest"
  a=$(stats_flat "${doms[@]}")
  sleep "$secs"
  b=$(stats_flat "${doms[@]}")
  printf '%-12s %-20s %16s %16s %12s\n' domain counter first second delta
  for d in "${doms[@]}"; do
    for k in "${CHECK_KEYS[@]}"; do
      v0=$(awk -v d="$d" -v k="$k" '$1 == d && $2 == k { print $3 }' <<<"$a")
      v1=$(awk -v d="$d" -v k="$k" '$1 == d && $2 == k { print $3 }' <<<"$b")
      total=$((total + 1))
      if [[ -n $v0 && -n $v1 ]] && ((v1 > v0)); then
        printf '%-12s %-20s %16s %16s %12s\n' "$d" "$k" "$v0" "$v1" "$((v1 - v0))"
      else
        printf '%-12s %-20s %16s %16s %12s  STUCK\n' "$d" "$k" "${v0:-missing}" "${v1:-missing}" -
        fails=$((fails + 1))
      fi
    done
  done
  log "check: $((total - fails)) of $total counters moved over ${secs}s on ${#doms[@]} guest(s)"
  ((fails == 0))
}

# ----------------------------------------------------------------------------------- unprivileged
as_nobody() {
  setpriv --reuid=nobody --regid=nogroup --clear-groups --reset-env -- env HOME=/ "$@"
}

cmd_unprivileged() {
  local mode sock=$RUN/libvirt-sock-ro out
  if (($#)); then
    as_nobody "$@"
    return
  fi
  [[ -S $sock ]] || die "unprivileged: no $sock: run '$0 up'"
  mode=$(stat -c %a "$sock")
  [[ $mode == 777 ]] || die "unprivileged: $sock has mode $mode, want 777"
  as_nobody test -x "$RUN" || die "unprivileged: nobody cannot traverse to $RUN"
  as_nobody test -w "$sock" || die "unprivileged: nobody cannot write to $sock"
  if as_nobody test -w "$RUN/libvirt-sock"; then die "unprivileged: nobody can write to the read-write socket"; fi
  out=$(as_nobody virsh -c "$URI_RO" -r -q list --all 2>&1) ||
    die "unprivileged: virsh -r as nobody failed: $out"
  log "unprivileged: $sock is $mode; nobody lists $(printf '%s\n' "$out" | grep -c . || true) domain(s) read-only"
  if as_nobody virsh -c "$URI" -q list >/dev/null 2>&1; then
    die "unprivileged: nobody could open the read-write socket"
  fi
}

cmd_setup() {
  local gpid
  # The guest download only needs apt lists; it runs while the packages install.
  if ! apt-cache show linux-image-cloud-amd64 >/dev/null 2>&1 || [[ -n $(pkg_missing "${PKGS[@]}") || ! -x $QEMU ]]; then
    if [[ ! -s $GUEST/vmlinuz ]]; then
      log "setup: apt-get update"
      apt-get update -q >/dev/null
      APT_UPDATED=1
    fi
  fi
  guest_fetch &
  gpid=$!
  cmd_install
  wait "$gpid" || die "setup: guest download failed"
  guest_build
  cmd_up
}

main() {
  local cmd=${1:-}
  (($#)) && shift
  case $cmd in
    install) cmd_install ;;
    guest) cmd_guest ;;
    up) cmd_up ;;
    setup) cmd_setup ;;
    vm) cmd_vm "$@" ;;
    dense) cmd_dense "$@" ;;
    down) cmd_down ;;
    status) cmd_status ;;
    env) cmd_env ;;
    check) cmd_check "$@" ;;
    libvirtd) cmd_libvirtd "$@" ;;
    unprivileged) cmd_unprivileged "$@" ;;
    -h | --help | help) usage ;;
    *) usage >&2; exit 2 ;;
  esac
}

main "$@"
