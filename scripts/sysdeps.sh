#!/bin/sh
# Install the system tools socklab's tests use as real peers, when missing and allowed.
# Debian package -> a command it provides (time: peak memory in the benchmarks;
# chromium: the browser that loads tour --html's page in tests/netns/test_tour_browser.py).
set -u
missing=""
for pair in iproute2:ss iproute2:ip socat:socat netcat-openbsd:nc ncat:ncat nmap:nmap strace:strace \
            iperf3:iperf3 iputils-ping:ping nftables:nft procps:sysctl net-tools:netstat \
            openssl:openssl util-linux:setpriv time:/usr/bin/time traceroute:traceroute \
            tcpdump:tcpdump iptables:iptables chromium:chromium; do
    pkg=${pair%%:*}; cmd=${pair#*:}
    if ! command -v "$cmd" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$cmd" ] && [ ! -x "/sbin/$cmd" ]; then
        case " $missing " in *" $pkg "*) ;; *) missing="$missing $pkg" ;; esac
    fi
done
# Kernel headers: tests/unit/test_sockconst.py checks socklab's constant tables against them.
[ -f /usr/include/linux/netlink.h ] || missing="$missing linux-libc-dev"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "sysdeps: installing$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends $missing >/dev/null \
        || echo "sysdeps: could not install$missing; the tests that need them will say so"
else
    echo "sysdeps: missing$missing (not root with apt): the tests that need them will skip"
fi
exit 0
