#!/usr/bin/env bash
# Installs the ONNX Runtime peer of bench/compare_infer.sh: the npm package
# onnxruntime-node (its tarball ships the CPU library) into a directory
# outside the repository, with --ignore-scripts (its install script only
# fetches GPU libraries). Optional and run by hand: the build, the tests and
# .ci/run never download anything and never call this. Usage:
#   bench/ort_setup.sh
# Needs node (>= 18) and npm. The directory is $LRMLP_ORT_DIR, by default
# $HOME/.cache/lrmlp-ort; running it again with the version already there
# does nothing.
set -eu
version=1.30.0
dir=${LRMLP_ORT_DIR:-$HOME/.cache/lrmlp-ort}
here=$(cd "$(dirname "$0")/.." && pwd -P)
dir=$(realpath -m "$dir")
case "$dir/" in
"$here"/*)
    echo "ort_setup.sh: $dir is inside the repository; set LRMLP_ORT_DIR elsewhere" >&2
    exit 2
    ;;
esac
for tool in node npm; do
    command -v "$tool" >/dev/null || {
        echo "ort_setup.sh: $tool not found" >&2
        exit 1
    }
done
mkdir -p "$dir"
pkg=$dir/node_modules/onnxruntime-node/package.json
have=
if [ -f "$pkg" ]; then have=$(node -p "require(process.argv[1]).version" "$pkg"); fi
if [ "$have" != "$version" ]; then
    [ -f "$dir/package.json" ] || printf '{ "private": true }\n' >"$dir/package.json"
    (cd "$dir" && npm install --ignore-scripts --no-audit --no-fund --save-exact \
        "onnxruntime-node@$version")
fi
# Fails here, not in the benchmark, if the native binding does not load.
(cd "$dir" && node -e "require('onnxruntime-node')") || {
    echo "ort_setup.sh: onnxruntime-node $version installed in $dir but does not load" >&2
    exit 1
}
echo "onnxruntime-node $version in $dir"
