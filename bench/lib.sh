# Shared by the benchmark scripts (sourced, not run): a scratch directory,
# processes to stop at exit, free ports, and the release build.
#   . bench/lib.sh     (from the top of the source tree)

PY=/usr/bin/python3
dir=$(mktemp -d /tmp/janitor-bench.XXXXXX)
pids=""

# Stop what the script started and remove its scratch directory.
cleanup() {
	if [ -n "${BENCH_DEBUG:-}" ]; then
		tail -5 "$dir"/*.log "$dir"/*/error.log 2>/dev/null
	fi
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM

# A free TCP port on 127.0.0.1.
port() {
	$PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Wait until something accepts on a port.
wait_port() {
	$PY - "$1" <<'PY'
import socket, sys, time
for i in range(500):
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.02)
sys.exit(1)
PY
}

# Build janitord for measuring: build-release/src/janitord.
build_release() {
	echo "== building janitord (release)"
	if [ ! -f build-release/build.ninja ]; then
		meson setup build-release --buildtype=release -Dtests=false \
		    >/dev/null
	fi
	ninja -C build-release >/dev/null
}

# The relay benchmarks' backend: nginx, one worker, a short body, on
# 127.0.0.1:$1.  BACK_PID is its master process.
start_backend() {
	mkdir -p "$dir/back"
	cat >"$dir/back/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $dir/back/nginx.pid;
error_log $dir/back/error.log warn;
events { worker_connections 4096; }
http {
	access_log off;
	keepalive_requests 1000000;
	server {
		listen 127.0.0.1:$1 reuseport backlog=4096;
		location / { return 200 "hello from the backend\n"; }
	}
}
CONF
	nginx -p "$dir/back" -c "$dir/back/nginx.conf" &
	BACK_PID=$!
	pids="$pids $!"
}
