"""The --explain texts in English and in French, by --lang or by the locale; the
command lines (ip, ifconfig, nft, iptables, ip xfrm) the same in both."""

import os

import pytest
from helpers import run_cli

from socklab.cli.main import main


def explained(capsys, *argv: str) -> list[str]:
    assert main(list(argv)) == 0
    return capsys.readouterr().out.splitlines()


def test_sysctl_explain_in_both_languages(capsys):
    en = explained(capsys, "sysctl", "--explain", "net.ipv4.ip_local_port_range", "--lang", "en")
    fr = explained(capsys, "sysctl", "--explain", "net.ipv4.ip_local_port_range", "--lang", "fr")
    assert en[2].startswith("controls:") and "ephemeral ports" in en[2]
    assert fr[2].startswith("contrôle :") and "ports temporaires" in fr[2]  # the course's words
    bsd = "net.inet.ip.portrange.first / .last"  # a name: the same in both
    assert en[5].endswith(bsd) and fr[5].endswith(bsd)
    assert en[0].split()[-1] == fr[0].split()[-1] == "net.ipv4.ip_local_port_range"


def test_change_explain_keeps_the_command_lines(capsys):
    argv = ("addr", "add", "10.9.9.1/24", "dev", "lo", "--explain")
    en = explained(capsys, *argv, "--lang", "en")
    fr = explained(capsys, *argv, "--lang", "fr")
    assert en == ["what:     add address 10.9.9.1/24 dev lo",
                  "ip:       ip addr add 10.9.9.1/24 dev lo",
                  # lo holds 127.0.0.1: net-tools adds a second address as an alias
                  "classic:  ifconfig lo:0 10.9.9.1 netmask 255.255.255.0",
                  "netlink:  1 rtnetlink request (--dry-run shows them)",
                  "nothing was sent (drop --explain to make the change)"]
    assert fr[1] == "ip:         ip addr add 10.9.9.1/24 dev lo"
    assert fr[2] == "classique : ifconfig lo:0 10.9.9.1 netmask 255.255.255.0"
    assert fr[3] == "netlink:    1 requête rtnetlink (--dry-run les montre)"
    assert fr[4] == "rien n'a été envoyé (sans --explain, le changement est fait)"


def test_route_get_walk_in_french(capsys):
    fr = explained(capsys, "route", "get", "127.0.0.1", "--lang", "fr")
    en = explained(capsys, "route", "get", "127.0.0.1", "--lang", "en")
    assert fr[0] == "route vers 127.0.0.1" and en[0] == "route to 127.0.0.1"
    assert "  1. règles, par priorité :" in fr and "  1. rules, by priority:" in en
    assert any("l'emporte" in line or "seule route" in line for line in fr), fr
    assert not any("matched" in line or " wins" in line for line in fr), fr
    # the rules and the routes are the kernel's words, the same in both
    assert next(ln for ln in fr if "lookup local" in ln).split()[:4] == \
        next(ln for ln in en if "lookup local" in ln).split()[:4]


def test_filter_and_ipsec_comments_in_french(capsys):
    fr = explained(capsys, "filter", "add", "drop", "-p", "tcp", "--dport", "8080", "-n",
                   "--lang", "fr")
    en = explained(capsys, "filter", "add", "drop", "-p", "tcp", "--dport", "8080", "-n",
                   "--lang", "en")
    assert fr[:-1] == en[:-1]  # nft and iptables lines untranslated
    assert en[-1].startswith("# iptables counts") and fr[-1].startswith("# iptables compte")
    ipsec = ("ipsec", "add", "10.0.0.1", "10.0.0.2", "--spi-out", "0x1000", "--spi-in",
             "0x1001", "--enc-key", "0x" + "11" * 16, "--auth-key", "0x" + "22" * 32, "-n")
    fr = explained(capsys, *ipsec, "--lang", "fr")
    en = explained(capsys, *ipsec, "--lang", "en")
    assert fr[:-1] == en[:-1]
    assert fr[-1] == "# sur 10.0.0.2 : la même chose, adresses et SPI échangés", fr[-1]


@pytest.mark.parametrize(("env", "word"), [({"LANG": "fr_FR.UTF-8"}, "contrôle :"),
                                           ({"LANG": "C.UTF-8"}, "controls:"),
                                           ({"LC_ALL": "fr_CA"}, "contrôle :")])
def test_language_from_the_locale(env, word):
    clean = {k: v for k, v in os.environ.items()
             if k not in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")}
    proc = run_cli("sysctl", "--explain", "net.core.somaxconn", env={**clean, **env})
    assert proc.returncode == 0, proc.stderr
    assert word in proc.stdout.decode()
