#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# The documentation agrees with the code (no privilege, no kernel):
#   1. both manual pages render without a groff warning;
#   2. every command and long option that `oci-jail-hook --help` prints has its entry in
#      COMMANDS / OPTIONS of oci-jail-hook(1);
#   3. every key the admin-config parser accepts (the add_options() list in
#      oci/admin_config.cpp) has its entry in KEYS of oci-jail-hook.conf(5);
#   4. every annotation in kKnownAnnotations (oci/annotations.hpp) has its entry in
#      ANNOTATIONS of oci-jail-hook(1) and appears in docs/policy.md.
# Each check is also run once on deliberately broken input and must fail there, so that a
# check that can no longer fail (a parser that finds nothing, a pattern that matches
# anything) is caught too.
#
# Environment: HOOK=path of the built oci-jail-hook binary (ctest sets it).
# Exit: 0 all good, 1 a check failed, 77 skipped (groff missing; fails instead when
# OJH_REQUIRE_ALL_TIERS=1).
set -euo pipefail

SRC=$(cd "$(dirname "$0")/../.." && pwd)
MAN1=$SRC/man/oci-jail-hook.1
MAN5=$SRC/man/oci-jail-hook.conf.5
POLICY=$SRC/docs/policy.md
ADMIN_CPP=$SRC/oci/admin_config.cpp
ANNOTATIONS_HPP=$SRC/oci/annotations.hpp

FAILURES=0
pass() { printf 'ok - %s\n' "$1"; }
fail() {
  printf 'not ok - %s\n' "$1"
  FAILURES=$((FAILURES + 1))
}
die() {
  printf 'test_docs: %s\n' "$1" >&2
  exit 1
}
skip() {
  if [[ ${OJH_REQUIRE_ALL_TIERS:-} == 1 ]]; then die "$1 (OJH_REQUIRE_ALL_TIERS=1)"; fi
  printf 'test_docs: SKIPPED: %s\n' "$1"
  exit 77
}

command -v groff >/dev/null || skip "groff not installed (Debian package groff-base)"
[[ -n ${HOOK:-} ]] || die "HOOK is not set: the path of the built oci-jail-hook binary"
[[ -x $HOOK ]] || die "HOOK=$HOOK is not an executable"
for f in "$MAN1" "$MAN5" "$POLICY" "$ADMIN_CPP" "$ANNOTATIONS_HPP"; do
  [[ -f $f ]] || die "missing $f"
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/ojh-docs.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# ---------------------------------------------------------------------------------------
# Helpers

# A page as plain text: no bold/underline escapes, Unicode hyphens and minus signs turned
# into '-', and lines long enough that no paragraph is broken (so nothing is hyphenated).
render() {  # ROFF-FILE
  groff -man -Tutf8 -rLL=20000n -P-c -P-b -P-u -P-o "$1" 2>/dev/null |
    sed 's/\xe2\x80\x90/-/g; s/\xe2\x88\x92/-/g'
}

# The lines of one top-level section (a heading is an unindented line in capitals).
section() {  # TEXT-FILE HEADING
  awk -v h="$2" '/^[A-Z]/ { inside = ($0 == h); next } inside' "$1"
}

# Escapes a string for use inside an extended regular expression.
# shellcheck disable=SC2016  # a sed script: $ is a literal there
ere_quote() { printf '%s' "$1" | sed 's/[][\.|$(){}?+*^]/\\&/g'; }

# An entry: a line of the section that starts, after the indent, with TERM (optionally
# after "-x, " for an option with a short form) followed by a blank, a comma or the end.
# (The section is read whole first: `grep -q` in a pipe would stop early and fail its
# writer with SIGPIPE, which pipefail turns into "missing".)
has_entry() {  # TEXT-FILE HEADING TERM
  local text
  text=$(section "$1" "$2")
  grep -Eq "^[[:space:]]+(-[a-zA-Z], )?$(ere_quote "$3")([[:space:],]|$)" <<<"$text"
}

# ---------------------------------------------------------------------------------------
# The checks. Each returns non-zero and names what is missing when it fails.

check_renders() {  # ROFF-FILE
  local out rc=0
  out=$(groff -man -Tutf8 -ww -z "$1" 2>&1) || rc=$?
  if ((rc != 0)) || [[ -n $out ]]; then
    printf '    groff -man -ww -z %s (exit %d):\n%s\n' "${1##*/}" "$rc" "$out" | sed 's/^/    /'
    return 1
  fi
}

# Commands: the two-space-indented words of the "Commands:" block; long options: every
# --word of the options block.
help_commands() {  # HELP-FILE
  awk '/^Commands:/ { c = 1; next } /^[^ ]/ { c = 0 } c && /^  [a-z]/ { print $1 }' "$1"
}
help_long_options() {  # HELP-FILE
  awk '/^Options/ { o = 1 } o' "$1" | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u
}

check_help_in_man() {  # HELP-FILE MAN-TEXT-FILE
  local missing=() n=0 item
  while read -r item; do
    n=$((n + 1))
    has_entry "$2" COMMANDS "$item" || missing+=("command $item")
  done < <(help_commands "$1")
  while read -r item; do
    n=$((n + 1))
    has_entry "$2" OPTIONS "$item" || missing+=("option $item")
  done < <(help_long_options "$1")
  if ((n < 2)); then
    echo "    found no command or option in the --help output"
    return 1
  fi
  if ((${#missing[@]})); then
    printf '    no entry in oci-jail-hook(1) for: %s\n' "${missing[*]}"
    return 1
  fi
}

# The keys of parse_admin_config(): ("key", po::value<...>()...) in its add_options() chain.
admin_keys() {  # ADMIN-CONFIG-CPP
  tr '\n' ' ' <"$1" | grep -oE '\(\s*"[a-z][a-z0-9-]*"\s*,\s*po::value' |
    sed -E 's/^\(\s*"([^"]*)".*/\1/' | sort -u
}

# Whether a check over the keys the source defines passed: it found some (none means the
# extraction no longer matches the source) and none of them is MISSING.
keys_complete() {  # COUNT NONE-FOUND-MESSAGE MISSING-MESSAGE [MISSING...]
  local n=$1 none_found=$2 missing_message=$3
  shift 3
  if ((n == 0)); then
    echo "    $none_found"
    return 1
  fi
  if (($#)); then
    printf '    %s: %s\n' "$missing_message" "$*"
    return 1
  fi
}

check_admin_keys_in_man() {  # ADMIN-CONFIG-CPP MAN-TEXT-FILE
  local missing=() n=0 key
  while read -r key; do
    n=$((n + 1))
    has_entry "$2" KEYS "$key" || missing+=("$key")
  done < <(admin_keys "$1")
  keys_complete "$n" "found no add_options() key in ${1##*/}" \
    "no entry in KEYS of oci-jail-hook.conf(5) for" "${missing[@]}"
}

# The strings of kKnownAnnotations: its initializer lists names of string_view constants
# (or string literals), resolved through the `constexpr std::string_view kName = "..."`
# definitions of the same header.
known_annotations() {  # ANNOTATIONS-HPP
  local flat init
  flat=$(tr '\n' ' ' <"$1")
  init=$(grep -oE 'kKnownAnnotations\s*=\s*\{[^}]*\}' <<<"$flat" | sed -E 's/^[^{]*\{//; s/\}$//')
  [[ -n $init ]] || return 0
  local item name
  while read -r item; do
    [[ -n $item ]] || continue
    if [[ $item == \"*\" ]]; then
      item=${item#\"}
      echo "${item%\"}"
    else
      name=$item
      grep -oE "std::string_view\s+$name\s*=\s*\"[^\"]*\"" <<<"$flat" | sed -E 's/.*"([^"]*)"$/\1/'
    fi
  done < <(tr ',' '\n' <<<"$init" | sed -E 's/^\s+//; s/\s+$//')
}

check_annotations_documented() {  # ANNOTATIONS-HPP MAN-TEXT-FILE POLICY-MD
  local missing=() n=0 key
  while read -r key; do
    [[ -n $key ]] || continue
    n=$((n + 1))
    has_entry "$2" ANNOTATIONS "$key" || missing+=("$key (oci-jail-hook(1))")
    grep -qF "\`$key\`" "$3" || missing+=("$key (${3##*/})")
  done < <(known_annotations "$1")
  keys_complete "$n" "found no key in kKnownAnnotations of ${1##*/}" "not documented" \
    "${missing[@]}"
}

# ---------------------------------------------------------------------------------------
# The real documentation: every check must pass.

render "$MAN1" >"$WORK/man1.txt"
render "$MAN5" >"$WORK/man5.txt"
"$HOOK" --help >"$WORK/help.txt" || die "$HOOK --help failed"

run() {  # TITLE CHECK ARGS...
  local title=$1
  shift
  if "$@"; then pass "$title"; else fail "$title"; fi
}
run "oci-jail-hook.1 renders without warnings" check_renders "$MAN1"
run "oci-jail-hook.conf.5 renders without warnings" check_renders "$MAN5"
run "every command and long option of --help is in oci-jail-hook(1)" \
  check_help_in_man "$WORK/help.txt" "$WORK/man1.txt"
run "every admin-config key is in oci-jail-hook.conf(5)" \
  check_admin_keys_in_man "$ADMIN_CPP" "$WORK/man5.txt"
run "every known annotation is in oci-jail-hook(1) and docs/policy.md" \
  check_annotations_documented "$ANNOTATIONS_HPP" "$WORK/man1.txt" "$POLICY"

# ---------------------------------------------------------------------------------------
# Controls: each check on input with one thing wrong must fail.

control() {  # TITLE CHECK ARGS...
  local title=$1
  shift
  if "$@" >/dev/null; then fail "control: $title (the check passed)"; else pass "control: $title"; fi
}
# $WORK/NAME: a copy of FILE edited by SED-SCRIPT; an edit that changes nothing means the
# control no longer tests anything, and stops the script.
mutate() {  # FILE NAME SED-SCRIPT
  sed -e "$3" "$1" >"$WORK/$2"
  if cmp -s "$1" "$WORK/$2"; then die "control $2: the edit '$3' changed nothing"; fi
}

{
  cat "$MAN5"
  printf '.BOGUS\n\\fQbad font\n'
} >"$WORK/bad.5"
mutate "$WORK/man1.txt" man1-no-gc.txt '/^COMMANDS/,/^OPTIONS/{/^ *gc /d}'
mutate "$WORK/man1.txt" man1-no-timing.txt '/^ *--timing/d'
mutate "$WORK/help.txt" help-new.txt 's/--timing /--no-such-option /'
mutate "$WORK/man5.txt" man5-no-log-level.txt '/^ *log-level = /d'
mutate "$ADMIN_CPP" admin-new.cpp 's/"log-level", po::value/"log-format", po::value/'
mutate "$WORK/man1.txt" man1-no-dns.txt '/^ *jail\.block-host\.dns$/d'
# shellcheck disable=SC2016  # the backquotes are Markdown, not a command
mutate "$POLICY" policy-no-mode.md 's/`jail\.block-host\.mode`/jail.block-host.mode/g'
mutate "$ANNOTATIONS_HPP" annotations-new.hpp 's/"jail\.block-host\.dns"/"jail.block-host.dns-servers"/'

control "a page with an unknown macro and font is refused" check_renders "$WORK/bad.5"
control "a missing command is found" check_help_in_man "$WORK/help.txt" "$WORK/man1-no-gc.txt"
control "a missing long option is found" check_help_in_man "$WORK/help.txt" \
  "$WORK/man1-no-timing.txt"
control "an option the man page never heard of is found" check_help_in_man \
  "$WORK/help-new.txt" "$WORK/man1.txt"
control "a missing admin key is found" check_admin_keys_in_man "$ADMIN_CPP" \
  "$WORK/man5-no-log-level.txt"
control "a new admin key is found" check_admin_keys_in_man "$WORK/admin-new.cpp" "$WORK/man5.txt"
control "a parser that finds no admin key fails" check_admin_keys_in_man /dev/null "$WORK/man5.txt"
control "an annotation missing from the man page is found" check_annotations_documented \
  "$ANNOTATIONS_HPP" "$WORK/man1-no-dns.txt" "$POLICY"
control "an annotation missing from docs/policy.md is found" check_annotations_documented \
  "$ANNOTATIONS_HPP" "$WORK/man1.txt" "$WORK/policy-no-mode.md"
control "a new annotation is found" check_annotations_documented "$WORK/annotations-new.hpp" \
  "$WORK/man1.txt" "$POLICY"
control "a parser that finds no annotation fails" check_annotations_documented /dev/null \
  "$WORK/man1.txt" "$POLICY"

if ((FAILURES)); then
  printf 'test_docs: %d check(s) failed\n' "$FAILURES"
  exit 1
fi
echo "test_docs: all checks passed"
