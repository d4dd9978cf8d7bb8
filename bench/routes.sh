# Sourced by bench/run.sh and bench/alloc.sh: the routes a large configuration adds besides the bench
# route (ROUTES=N), so that both scripts measure the same route table.

other_routes() { # other_routes N: N routes besides the bench route, YAML list items on stdout
  # A mix the bench request never matches but walks past: deep prefixes, routes below /bench, routes
  # sharing /b, host-only routes at "/", host-specific routes on /bench itself (one in a hundred,
  # checked before the host-less bench route at the same trie node), some limited to methods.
  awk -v n="$1" 'BEGIN{
    for (i = 1; i <= n; i++) {
      if (i % 100 == 50)  { printf "  - {path_prefix: /bench, host: h%d.example.com, backend: bench}\n", i; continue }
      k = i % 5
      if (k == 0) printf "  - {path_prefix: /api/v%d/svc%d, backend: bench}\n", i % 3, i
      if (k == 1) printf "  - {path_prefix: /svc%d, host: svc%d.example.com, backend: bench}\n", i, i
      if (k == 2) printf "  - {path_prefix: /bench/%d, methods: [GET, HEAD], backend: bench}\n", i
      if (k == 3) printf "  - {path_prefix: /b%d, methods: [POST, PUT], backend: bench}\n", i
      if (k == 4) printf "  - {path_prefix: /, host: app%d.example.com, backend: bench}\n", i
    }}'
}
