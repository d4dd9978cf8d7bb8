# Helpers shared by the bench scripts; source after defining log and die.
# shellcheck shell=bash

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
PATH="$PATH:/usr/sbin:/sbin"

apt_updated=0
need_pkg() { # need_pkg COMMAND PACKAGE...  (first package that installs wins)
  local cmd=$1; shift
  command -v "$cmd" >/dev/null 2>&1 && return 0
  if [ "$apt_updated" = 0 ]; then $SUDO apt-get update -qq; apt_updated=1; fi
  local p
  for p in "$@"; do
    log "installing $p"
    if DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$p" >/dev/null; then
      command -v "$cmd" >/dev/null 2>&1 && return 0
    fi
  done
  die "cannot install $cmd (tried: $*)"
}

stop_pid() { # stop_pid PID: TERM, wait up to 10 s, then KILL
  local pid=$1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.2; done
  kill -KILL "$pid" 2>/dev/null || true
}

free_port() { # a TCP port nothing listens on, different from those already handed out
  local p
  while :; do
    p=$((20000 + RANDOM % 20000))
    case " ${TAKEN_PORTS:-} " in *" $p "*) continue ;; esac
    ss -Htln "sport = :$p" | grep -q . && continue
    TAKEN_PORTS="${TAKEN_PORTS:-} $p"
    echo "$p"
    return
  done
}

wait_200() { # wait_200 URL SECONDS WHAT [PID]: poll until the URL answers 200
  local url=$1 deadline=$((SECONDS + $2)) what=$3 pid=${4:-}
  until [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$url" || true)" = 200 ]; do
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then die "$what exited before answering $url"; fi
    [ "$SECONDS" -lt "$deadline" ] || die "$what did not answer 200 on $url within $2 s"
    sleep 0.2
  done
}
