#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# deploy/kubernetes/install-on-node.sh against temporary node roots: the files, their modes
# and hook.path; a second run changes nothing (not even a timestamp); upgrades of what it
# installed, also to the enforce-all templates; refusal (with nothing changed) of files it did not install; the run-inside-the-
# node check of the binary (as root); and --uninstall.
#
# Environment: OJH_HOOK_BINARY (default build/hook/oci-jail-hook), OJH_SOURCE_DIR (the repo).
# Checks are single-quoted eval strings (run inside ts_check), so shellcheck sees neither
# the expansions nor the uses of the variables and helpers they name:
# shellcheck disable=SC2016,SC2034,SC2317
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

top=${OJH_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
hook_binary=${OJH_HOOK_BINARY:-$top/build/hook/oci-jail-hook}
installer=$top/deploy/kubernetes/install-on-node.sh
ts_require jq sha256sum cmp find
[[ -x $hook_binary ]] || ts_skip "no built hook binary at $hook_binary (set OJH_HOOK_BINARY)"
[[ -x $installer ]] || ts_die "$installer missing or not executable"

deploy_make_tmp
readonly BIN=/usr/local/libexec/oci/hooks.d/oci-jail-hook
readonly JSON_DIR=/etc/containers/oci/hooks.d
readonly DROPIN=/etc/crio/crio.conf.d/10-oci-jail-hook.conf
readonly RECORD=/var/lib/oci-jail-hook/installed

# A source directory laid out like the installer image's /opt/oci-jail-hook.
src=$DEPLOY_TMP/src
mkdir -p "$src"
cp "$hook_binary" "$src/oci-jail-hook"
cp "$top"/share/containers/oci/hooks.d/*.json.in "$src/"
cp "$top/deploy/crio/10-oci-jail-hook.conf" "$src/"

install_into() {  # install_into ROOT [ARGS...] — output in $DEPLOY_TMP/out
  local root=$1
  shift
  "$installer" --dest "$root" --source "$src" "$@" >"$DEPLOY_TMP/out" 2>&1
}
output_has() { grep -qF -- "$1" "$DEPLOY_TMP/out"; }
# Everything about every file and directory that a rewrite, chmod or rename would change.
snapshot() { (cd "$1" && find . -printf '%p %y %m %s %i %T@ %C@\n' | sort); }
mode_of() { stat -c %a "$1"; }
new_root() {  # new_root NAME [crio] — an empty node root; "crio" adds a CRI-O binary
  local root=$DEPLOY_TMP/$1
  mkdir -p "$root"
  if [[ ${2:-} == crio ]]; then
    mkdir -p "$root/usr/bin"
    : >"$root/usr/bin/crio"
  fi
  printf '%s\n' "$root"
}
hook_path_is() {  # hook_path_is FILE PATH STAGE ARG
  jq -e --arg p "$2" --arg s "$3" --arg a "$4" \
    '.version == "1.0.0" and .hook.path == $p and .stages == [$s] and .hook.args == ["oci-jail-hook", $a]' \
    "$1" >/dev/null
}

# --- fresh install on a CRI-O node ----------------------------------------------------------
root=$(new_root crio-node crio)
ts_check "fresh install succeeds" install_into "$root" --no-verify
ts_check "binary installed, identical, mode 755" \
  eval 'cmp -s "$hook_binary" "$root$BIN" && [[ $(mode_of "$root$BIN") == 755 ]]'
ts_check "create-runtime JSON: valid, hook.path is the host path of the binary" \
  hook_path_is "$root$JSON_DIR/oci-jail-hook-create-runtime.json" "$BIN" createRuntime create-runtime
ts_check "poststop JSON: valid, hook.path is the host path of the binary" \
  hook_path_is "$root$JSON_DIR/oci-jail-hook-poststop.json" "$BIN" poststop poststop
ts_check "JSON keeps the template's when.annotations" \
  eval 'jq -e ".when.annotations | has(\"^jail\\\\.block-host(\\\\..*)?$\")" \
        "$root$JSON_DIR/oci-jail-hook-create-runtime.json" >/dev/null'
ts_check "no trace of the DEST prefix in any JSON" \
  eval '! grep -rqF "$root" "$root$JSON_DIR"'
ts_check "CRI-O drop-in installed (CRI-O detected), identical, mode 644" \
  eval 'cmp -s "$top/deploy/crio/10-oci-jail-hook.conf" "$root$DROPIN" && [[ $(mode_of "$root$DROPIN") == 644 ]]'
ts_check "JSON files mode 644" \
  eval '[[ $(mode_of "$root$JSON_DIR/oci-jail-hook-create-runtime.json") == 644 &&
           $(mode_of "$root$JSON_DIR/oci-jail-hook-poststop.json") == 644 ]]'
ts_check "record lists the 4 installed files with their checksums" \
  eval '[[ $(wc -l <"$root$RECORD") == 4 ]] && (cd "$root" && sed "s|  /|  |" "$root$RECORD" | sha256sum -c --quiet -)'
ts_check "no temporary files left behind" \
  eval '[[ -z $(find "$root" -name ".*" -type f) ]]'
ts_check "installer says CRI-O must be restarted" output_has "restart CRI-O"

# --- idempotence ------------------------------------------------------------------------------
before=$(snapshot "$root")
ts_check "second run succeeds" install_into "$root" --no-verify
ts_check "second run changes nothing (contents, modes, inodes, mtimes, ctimes)" \
  eval '[[ $(snapshot "$root") == "$before" ]]'
ts_check "second run says nothing changed" output_has "nothing changed"

chmod 0777 "$root$JSON_DIR/oci-jail-hook-poststop.json"
ts_check "a wrong mode is repaired" \
  eval 'install_into "$root" --no-verify && [[ $(mode_of "$root$JSON_DIR/oci-jail-hook-poststop.json") == 644 ]]'

# --- upgrade of what it installed; refusal of what it did not -------------------------------
cp "$hook_binary" "$src/oci-jail-hook" && printf 'v2' >>"$src/oci-jail-hook"
ts_check "a new binary replaces the recorded one without --force" \
  eval 'install_into "$root" --no-verify && cmp -s "$src/oci-jail-hook" "$root$BIN"'
ts_check "record follows the upgrade" \
  eval 'grep -q "^$(sha256sum <"$src/oci-jail-hook" | cut -d" " -f1)  $BIN\$" "$root$RECORD"'
cp "$hook_binary" "$src/oci-jail-hook"
install_into "$root" --no-verify || ts_die "re-install of the original binary: $(cat "$DEPLOY_TMP/out")"

echo '{"foreign": true}' >"$root$JSON_DIR/oci-jail-hook-poststop.json"
cp "$hook_binary" "$src/oci-jail-hook" && printf 'v3' >>"$src/oci-jail-hook"
before=$(snapshot "$root")
ts_check "a foreign file at a target path is refused (exit 1)" \
  eval '! install_into "$root" --no-verify'
ts_check "the refusal names the file and --force" \
  eval 'output_has "refusing to replace $JSON_DIR/oci-jail-hook-poststop.json" && output_has "--force"'
ts_check "a refused run changes nothing, not even the binary it would have upgraded" \
  eval '[[ $(snapshot "$root") == "$before" ]]'
ts_check "--force replaces the foreign file" \
  eval 'install_into "$root" --no-verify --force &&
        hook_path_is "$root$JSON_DIR/oci-jail-hook-poststop.json" "$BIN" poststop poststop'
cp "$hook_binary" "$src/oci-jail-hook"
install_into "$root" --no-verify || ts_die "re-install of the original binary: $(cat "$DEPLOY_TMP/out")"

link_root=$(new_root symlink-node)
mkdir -p "$link_root${BIN%/*}"
ln -s /bin/true "$link_root$BIN"
ts_check "a symlink at the binary path is refused, not followed" \
  eval '! install_into "$link_root" --no-verify && [[ -L $link_root$BIN && ! -e $link_root$JSON_DIR ]]'

# --- options ----------------------------------------------------------------------------------
plain=$(new_root containerd-node)
ts_check "auto: no CRI-O drop-in on a node without CRI-O" \
  eval 'install_into "$plain" --no-verify && [[ ! -e $plain$DROPIN && ! -e $plain/etc/crio ]]'
no_crio=$(new_root crio-node-no-dropin crio)
ts_check "--crio-dropin no: none even with CRI-O" \
  eval 'install_into "$no_crio" --no-verify --crio-dropin no && [[ ! -e $no_crio$DROPIN ]]'
custom=$(new_root custom-dirs)
ts_check "--bin-dir/--hooks-dir: files there, hook.path follows" \
  eval 'install_into "$custom" --no-verify --bin-dir /usr/libexec/oci/hooks.d --hooks-dir /usr/share/containers/oci/hooks.d &&
        cmp -s "$hook_binary" "$custom/usr/libexec/oci/hooks.d/oci-jail-hook" &&
        hook_path_is "$custom/usr/share/containers/oci/hooks.d/oci-jail-hook-create-runtime.json" \
          /usr/libexec/oci/hooks.d/oci-jail-hook createRuntime create-runtime'
# The installer image's /opt/oci-jail-hook/enforce-all (deploy/kubernetes/Containerfile).
mkdir -p "$src/enforce-all"
cp "$top"/share/oci-jail-hook/hooks.d-enforce-all/*.json.in "$src/enforce-all/"
ts_check "--templates enforce-all replaces the annotation-gated files it installed" \
  eval 'install_into "$plain" --no-verify --templates "$src/enforce-all" &&
        hook_path_is "$plain$JSON_DIR/oci-jail-hook-create-runtime.json" "$BIN" createRuntime create-runtime &&
        hook_path_is "$plain$JSON_DIR/oci-jail-hook-poststop.json" "$BIN" poststop poststop &&
        jq -e ".when == {always: true}" "$plain$JSON_DIR/oci-jail-hook-create-runtime.json" \
          "$plain$JSON_DIR/oci-jail-hook-poststop.json" >/dev/null'
ts_check "a relative --bin-dir is a usage error (exit 2)" \
  eval 'install_into "$plain" --no-verify --bin-dir usr/bin; [[ $? == 2 ]]'
ts_check "a --bin-dir with .. is a usage error (exit 2)" \
  eval 'install_into "$plain" --no-verify --bin-dir /usr/../tmp; [[ $? == 2 ]]'
ts_check "an unknown option is a usage error (exit 2)" \
  eval 'install_into "$plain" --bogus; [[ $? == 2 ]]'
ts_check "a missing DEST is refused (exit 1)" \
  eval 'install_into "$DEPLOY_TMP/no-such-root"; [[ $? == 1 ]]'

# --- the binary is run inside the node root before anything points at it -------------------
if ((EUID == 0)) && command -v chroot >/dev/null && command -v ldd >/dev/null; then
  bare=$(new_root bare-node)
  ts_check "verification refuses a node root where the binary cannot run" \
    eval '! install_into "$bare" && output_has "does not run on this node"'
  ts_check "after a failed verification no hooks.d file and no binary exist" \
    eval '[[ ! -e $bare$JSON_DIR && ! -e $bare$BIN && -z $(find "$bare" -type f) ]]'
  # A node root with exactly the libraries the binary needs (as ldd resolves them here).
  libs=$(new_root libs-node)
  while read -r lib; do
    mkdir -p "$libs$(dirname "$lib")"
    cp -L "$lib" "$libs$lib"
  done < <(ldd "$hook_binary" | grep -o '/[^ ]*')
  ts_check "verification passes where the binary's libraries are present" \
    eval 'install_into "$libs" && [[ -x $libs$BIN && -f $libs$JSON_DIR/oci-jail-hook-create-runtime.json ]]'
else
  printf 'NOTE: verification cases need root, chroot and ldd; not run\n'
fi

# --- uninstall --------------------------------------------------------------------------------
ts_check "--uninstall succeeds" eval 'install_into "$root" --uninstall'
ts_check "--uninstall removes the binary, both JSON files, the drop-in and the record" \
  eval '[[ ! -e $root$BIN && ! -e $root$JSON_DIR/oci-jail-hook-create-runtime.json &&
           ! -e $root$JSON_DIR/oci-jail-hook-poststop.json && ! -e $root$DROPIN &&
           ! -e $root$RECORD && ! -e $root${RECORD%/*} ]]'
ts_check "--uninstall removes the hooks.d files before the binary" \
  eval '[[ $(grep -n "removed" "$DEPLOY_TMP/out" | tail -1) == *"removed $BIN" ]]'
ts_check "--uninstall leaves shared directories" eval '[[ -d $root$JSON_DIR ]]'
ts_check "a second --uninstall has nothing to do (exit 0)" eval 'install_into "$root" --uninstall'

install_into "$root" --no-verify || ts_die "re-install: $(cat "$DEPLOY_TMP/out")"
echo '# changed by the admin' >>"$root$DROPIN"
ts_check "--uninstall keeps a file changed since it was installed (exit 1)" \
  eval '! install_into "$root" --uninstall && [[ -f $root$DROPIN ]] && output_has "kept $DROPIN"'
ts_check "... and still removes the rest" \
  eval '[[ ! -e $root$BIN && ! -e $root$JSON_DIR/oci-jail-hook-poststop.json ]]'
ts_check "--uninstall --force removes the changed file too" \
  eval 'install_into "$root" --uninstall --force && [[ ! -e $root$DROPIN ]]'
install_into "$root" --no-verify || ts_die "re-install: $(cat "$DEPLOY_TMP/out")"
echo '{"changed": true}' >"$root$JSON_DIR/oci-jail-hook-create-runtime.json"
ts_check "--uninstall keeps the binary while a kept hooks.d file may point at it" \
  eval '! install_into "$root" --uninstall && [[ -x $root$BIN ]] && output_has "kept $BIN" &&
        [[ ! -e $root$JSON_DIR/oci-jail-hook-poststop.json ]]'
ts_check "--uninstall --force then removes both" \
  eval 'install_into "$root" --uninstall --force && [[ ! -e $root$BIN &&
        ! -e $root$JSON_DIR/oci-jail-hook-create-runtime.json && ! -e $root$RECORD ]]'
ts_check "--uninstall without --crio-dropin detection still removes a recorded drop-in" \
  eval 'install_into "$no_crio" --no-verify --crio-dropin yes && rm "$no_crio/usr/bin/crio" &&
        install_into "$no_crio" --uninstall && [[ ! -e $no_crio$DROPIN ]]'

ts_finish
