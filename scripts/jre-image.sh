#!/usr/bin/env bash
# Builds a small Java 17 base image without pulling anything and prints its tag: a jlink runtime of
# this machine's JDK (the modules the gateway and the demo services need, javac included so the demo
# image can compile its service), the shared libraries `ldd` lists for it, and /etc/passwd, /etc/group
# and /tmp. It is imported with `docker import`. The tag holds a hash of the inputs, so an image that
# exists already is reused. Use it where eclipse-temurin cannot be pulled:
#   docker build --build-arg BASE_IMAGE=$(scripts/jre-image.sh) -t dockgate .
set -euo pipefail
cd "$(dirname "$0")/.."

# jdeps --print-module-deps on the fat jar, plus: java.logging (the gateway's log), jdk.crypto.ec
# (EC keys for TLS and JWT), jdk.httpserver (demo services), jdk.compiler (javac, to build them).
MODULES=java.base,java.compiler,java.desktop,java.logging,java.naming,java.sql,jdk.jfr,jdk.management,jdk.unsupported,jdk.crypto.ec,jdk.httpserver,jdk.compiler
# Netty's native transports are loaded from the jar at run time, so ldd cannot see them here.
EXTRA_LIBS="libdl.so.2 librt.so.1 libpthread.so.0"

JAVA_HOME=${JAVA_HOME:-$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")}
inputs=$( { "$JAVA_HOME/bin/java" -version 2>&1; echo "$MODULES $EXTRA_LIBS"; cat "$0"; } | sha256sum | cut -c1-12)
TAG=${JRE_IMAGE_REPO:-dockgate-jre-local}:17-$inputs

if docker image inspect "$TAG" >/dev/null 2>&1; then
  echo "$TAG"
  exit 0
fi

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
echo "jre-image: jlink $MODULES" >&2
"$JAVA_HOME/bin/jlink" --add-modules "$MODULES" --strip-debug --no-header-files --no-man-pages \
  --compress=2 --output "$root/opt/java"

libdir=$(dirname "$(ldconfig -p | awk '/libc\.so\.6 .*x86-64/ {print $NF; exit}')")
libs=$(
  find "$root/opt/java" -type f \( -name '*.so' -o -path '*/bin/*' \) -exec ldd {} \; 2>/dev/null \
    | awk '/=> \// {print $3} /^\t\/lib/ {print $1}'
  for lib in $EXTRA_LIBS; do echo "$libdir/$lib"; done
)
for lib in $(echo "$libs" | grep -v "^$root" | sort -u); do
  [ -e "$lib" ] && cp -L --parents "$lib" "$root"
done

mkdir -p "$root/etc" "$root/tmp"
chmod 1777 "$root/tmp"
printf 'root:x:0:0:root:/root:/sbin/nologin\ndockgate:x:10001:10001:dockgate:/tmp:/sbin/nologin\n' > "$root/etc/passwd"
printf 'root:x:0:\ndockgate:x:10001:\n' > "$root/etc/group"
printf 'hosts: files dns\n' > "$root/etc/nsswitch.conf"

echo "jre-image: importing $TAG ($(du -sh "$root" | cut -f1))" >&2
tar -C "$root" -c . | docker import \
  -c 'ENV JAVA_HOME=/opt/java' -c 'ENV PATH=/opt/java/bin:/usr/bin:/bin' - "$TAG" >/dev/null
echo "$TAG"
