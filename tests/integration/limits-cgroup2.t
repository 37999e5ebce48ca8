#!/bin/bash
# The cgroup v2 path, for real, on hosts whose own cgroup v2 has no controllers
# (hybrid layouts keep memory and pids on cgroup v1): limits.t runs again inside a
# User-mode Linux kernel (Debian's user-mode-linux package) booted on this file
# system, with a cgroup2 hierarchy that has the memory, pids and cpu controllers:
#   - as root: hutch makes the sandbox's cgroup under the v2 root;
#   - as the unprivileged test user in a delegated cgroup (what systemd-run --user
#     --scope -p Delegate=yes gives): hutch moves itself into a leaf and makes the
#     sandbox's cgroup beside it.
# The guest has no Landlock (Debian's UML kernel lacks it): a user policy requires
# only userns and seccomp there.
. "$(dirname "$0")/../lib.sh"
require_sandbox

UML=$(command -v linux.uml || true)
# About five minutes: run it on purpose (make check-slow), not in every make check.
[ "${HUTCH_SLOW_TESTS:-0}" = 1 ] || skip_all "slow (boots a User-mode Linux kernel): run with HUTCH_SLOW_TESTS=1"
[ "$(id -u)" = 0 ] || skip_all "needs root (boots a User-mode Linux kernel)"
[ -n "$UML" ] || skip_all "linux.uml not installed (apt-get install user-mode-linux)"
[ -z "${HUTCH_IN_UML:-}" ] || skip_all "already inside User-mode Linux"
id -u "${HUTCH_TEST_USER:-hutchtest}" >/dev/null 2>&1 ||
	skip_all "no test user ${HUTCH_TEST_USER:-hutchtest} (useradd -m hutchtest)"

user=${HUTCH_TEST_USER:-hutchtest}
G=$T/guest
mkdir -p "$G"
chmod 755 "$G"

# Can this User-mode Linux build run a process on this host at all? Some CPU and kernel
# pairs make every UML process die at its first instruction ("ptrace set fp regs failed":
# the guest kernel and the host disagree on the size of the FP register state). That is a
# limit of the test harness on this machine, not of hutch: say so and skip.
printf '#!/bin/sh\n: >"%s/booted"\nexec python3 -c "import ctypes; ctypes.CDLL(None).reboot(0x4321fedc)"\n' \
	"$G" >"$G/probe.sh"
chmod 755 "$G/probe.sh"
TMPDIR=/dev/shm timeout -k 5 60 "$UML" mem=256M rootfstype=hostfs rootflags=/ rw \
	init="$G/probe.sh" con=null con0=null,fd:1 >"$G/probe.console" 2>&1
if [ ! -e "$G/booted" ]; then
	why=$(grep -m1 -E 'ptrace .* failed|Kernel panic' "$G/probe.console" || tail -1 "$G/probe.console")
	skip_all "User-mode Linux ($(dpkg-query -W -f='${Version}' user-mode-linux 2>/dev/null)) cannot run a process on this host: $why"
fi
printf '{ "require": ["userns", "seccomp"] }\n' >"$G/policy.json"
chmod 644 "$G/policy.json"

# The wrapper every hutch of the unprivileged pass goes through: a cgroup of its own
# in the delegated subtree, as a systemd scope would be (empty ones are reaped first).
cat >"$G/hutch-delegated" <<EOF
#!/bin/sh
d=/sys/fs/cgroup/deleg
for o in "\$d"/run-*; do rmdir "\$o" 2>/dev/null; done
mkdir "\$d/run-\$\$" && echo \$\$ > "\$d/run-\$\$/cgroup.procs" || exit 125
exec "$HUTCH" "\$@"
EOF
chmod 755 "$G/hutch-delegated"

cat >"$G/init.sh" <<EOF
#!/bin/sh
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t cgroup2 none /sys/fs/cgroup
mkdir -p /dev/pts /dev/shm
mount -t devpts -o newinstance,ptmxmode=0666 devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
# (not over the tests themselves: a checkout under /tmp stays visible)
case "$HUTCH_TESTS_DIR" in /tmp/*) ;; *) mount -t tmpfs tmpfs /tmp ;; esac
mount -t tmpfs tmpfs /run
echo 1 > /proc/sys/vm/overcommit_memory
# hostfs creates every file as the host's root: the test trees go on a guest tmpfs
# (not /tmp: private inside the sandbox), so that the test user owns its files.
mount -t tmpfs -o mode=1777 tmpfs /mnt
mkdir -m 1777 /mnt/hutch-tests
cat /sys/fs/cgroup/cgroup.controllers > "$G/controllers"
export HUTCH_IN_UML=1 HUTCH_TEST_TIMEOUT=60 HUTCH_TEST_USER_POLICY="$G/policy.json"
export HUTCH_TEST_EXPECT_MECH="cgroup v2" HUTCH="$HUTCH" HUTCH_HELPERS="$HUTCH_HELPERS"
export HUTCH_TEST_TMPDIR=/mnt/hutch-tests HUTCH_TEST_SLOW=4 HOME=/root
cd "$HUTCH_TESTS_DIR/.."
prove -v tests/integration/limits.t > "$G/root.out" 2>&1

# A delegated subtree for $user: controllers on, no process inside but in leaves.
echo "+memory +pids +cpu" > /sys/fs/cgroup/cgroup.subtree_control
mkdir /sys/fs/cgroup/deleg /sys/fs/cgroup/deleg/harness
echo "+memory +pids +cpu" > /sys/fs/cgroup/deleg/cgroup.subtree_control
chown -R $user /sys/fs/cgroup/deleg
sh -c 'echo \$\$ > /sys/fs/cgroup/deleg/harness/cgroup.procs &&
	HUTCH="$G/hutch-delegated" HUTCH_TEST_USER=$user prove -v tests/integration/limits.t' \
	> "$G/user.out" 2>&1
for o in /sys/fs/cgroup/deleg/run-*; do rmdir "\$o" 2>/dev/null; done
find /sys/fs/cgroup -name 'hutch*' -type d > "$G/left"
echo done > "$G/finished"
python3 -c 'import ctypes; ctypes.CDLL(None).reboot(0x4321fedc)'
EOF
chmod 755 "$G/init.sh"

# The guest's memory lives in a file under TMPDIR (a private tmpfs is fine).
LAST_CMD="linux.uml ... init=$G/init.sh"
TMPDIR=/dev/shm timeout -k 10 600 "$UML" mem=2G rootfstype=hostfs rootflags=/ rw \
	init="$G/init.sh" con=null con0=null,fd:1 >"$G/console" 2>&1
RC=$?
ok "$([ -e "$G/finished" ] && echo 0 || echo 1)" "the User-mode Linux guest ran the tests"
if [ ! -e "$G/finished" ]; then
	diag "$(tail -30 "$G/console")"
	done_testing
fi
like "$(cat "$G/controllers")" "memory" "  its cgroup v2 has the memory controller"
like "$(cat "$G/controllers")" "pids" "  and pids"

for who in root user; do
	out=$(cat "$G/$who.out")
	[ "$who" = root ] && desc="as root" || desc="as $user in a delegated cgroup"
	like "$out" "memory by cgroup v2, pids by cgroup v2" \
		"limits.t $desc: memory and pids enforced by cgroup v2"
	like "$out" "ok [0-9]+ - +it grew, but never past 64 processes" "  the fork bomb stayed under 64"
	like "$out" "ok [0-9]+ - +the OOM killer killed it \(137\)" "  the 1 GB hog was OOM-killed"
	like "$out" "ok [0-9]+ - +and hutch says so on stderr" "  and reported"
	like "$out" "ok [0-9]+ - +the message says the process limit was reached" \
		"  pids.events told which limit fired"
	like "$out" "ok [0-9]+ - +and -v says it was throttled" "  cpu.max throttled a busy loop"
	like "$out" "Result: PASS" "  every test of limits.t passed"
	grep -q "Result: PASS" <<<"$out" || diag "$(grep -E '^not ok|^#' <<<"$out" | head -30)"
done
is "$(cat "$G/left")" "" "no hutch cgroup left in the guest's hierarchy"

done_testing
