# Sourced by benchmark scripts: the tools they need (installed with apt-get when missing) and
# the shellacd to measure, a work directory, the servers a script starts (each in a session of
# its own, so its whole group can be stopped), stopping them all and removing the directory on
# exit, waiting for a server's port, and the nginx origin's configuration.

install_missing() {  # TOOL:PACKAGE ...: installs the packages of the tools not on the PATH
  local need=() pair
  for pair in "$@"; do command -v "${pair%%:*}" >/dev/null || need+=("${pair#*:}"); done
  if [ "${#need[@]}" -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  fi
}

prepare() {  # [TOOL:PACKAGE ...]: Varnish, nginx, curl and these when missing, the build's
  # dependencies, and BIN: $SHELLACD when set (an older build to compare), else this tree's
  install_missing varnishd:varnish nginx:nginx curl:curl "$@"
  bash scripts/ensure-deps.sh
  BIN=${SHELLACD:-"$(bash scripts/build-release.sh shellacd)/shellacd"}
}

WORK=$(mktemp -d)
chmod 755 "$WORK"  # nginx's workers read the bodies as an unprivileged user
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  sleep 1
  for pid in "${PIDS[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
start() {  # NAME CMD...: output in $WORK/NAME.out
  local name=$1; shift
  setsid "$@" >"$WORK/$name.out" 2>&1 &
  PIDS+=($!)
}
up() {  # PORT PID: at most 15 s
  local i
  for i in $(seq 1 150); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    kill -0 "$2" 2>/dev/null || break
    sleep 0.1
  done
  echo "port $1 never opened" >&2; tail -n 20 "$WORK"/*.out >&2 || true; exit 1
}
origin_conf() {  # PORT LOCATIONS: writes $WORK/origin.conf, one nginx worker serving $WORK/www
  cat >"$WORK/origin.conf" <<EOF
daemon off;
worker_processes 1;
pid $WORK/origin.pid;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $WORK/tmp/cb; proxy_temp_path $WORK/tmp/px;
  fastcgi_temp_path $WORK/tmp/fc; uwsgi_temp_path $WORK/tmp/uw; scgi_temp_path $WORK/tmp/sc;
  keepalive_requests 1000000;
  default_type text/plain;
  server {
    listen 127.0.0.1:$1;
    root $WORK/www;
    $2
  }
}
EOF
}
