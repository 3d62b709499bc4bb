#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2317  # helpers below are called through e2e_check
#
# Enforcement lives exactly as long as the container: createRuntime pins four cgroup links
# (connect4/6, sendmsg4/6) on the container's own cgroup; poststop removes the pins, which
# detaches the links. Checked for the three ways a container ends under runc: create/start
# then `runc delete`, `runc delete -f` of a running container, and a foreground `runc run`
# (runc destroys the container itself). Afterwards the system's cgroup links and the
# container's pin directory are back to what they were.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=hardening_lib.sh
source "$(dirname "$0")/hardening_lib.sh"

e2e_runc_view "$@"
CG2=$(e2e_cgroup2_mount) || e2e_die "no cgroup2 mount"

# Links that are not in the JSON list $1, as "attach_type cgroup_id" lines.
new_cgroup_links() {
  bpftool -j link list | jq -r --argjson before "$1" \
    '.[] | select(.type == "cgroup" and (.id as $id | $before | index($id) | not))
     | "\(.attach_type) \(.cgroup_id)"' | e2e_attach_type_names | sort
}

container_cgroup_dir() {  # ID
  local pid
  pid=$(e2e_runc state "$1" | jq -r '.pid')
  echo "$CG2$(sed -n 's/^0:://p' "/proc/$pid/cgroup")"
}

expect_enforced() {  # WHAT ID LINKS-BEFORE
  local what=$1 id=$2 before=$3 cg cgid expected
  cg=$(container_cgroup_dir "$id")
  cgid=$(stat -c %i "$cg")
  expected=$(e2e_hook_attach_types | sed "s/\$/ $cgid/" | sort)
  local got
  got=$(new_cgroup_links "$before")
  if [[ $got == "$expected" ]]; then
    e2e_pass "$what: $(wc -l <<<"$expected") new cgroup links, all on the container's cgroup ${cg#"$CG2"}"
  else
    e2e_fail "$what: new cgroup links are [${got//$'\n'/, }], expected [${expected//$'\n'/, }]"
  fi
  # One pin entry, named by the container's cgroup: the five link pins, each a link on that
  # cgroup (other files may sit beside), and the container id recorded in it.
  local name link_cgroup entry
  entry=$(e2e_pin_entries "$PIN_DIR" "$id")
  e2e_check "$what: the container's pin entry is cgroup:$cgid (got '${entry//$'\n'/ }')" \
    test "$entry" = "$PIN_DIR/v1/containers/cgroup:$cgid"
  entry=$PIN_DIR/v1/containers/cgroup:$cgid
  for name in connect4 connect6 sendmsg4 sendmsg6 egress; do
    link_cgroup=$(bpftool -j link show pinned "$entry/$name" 2>/dev/null |
      jq -r '.cgroup_id // empty') || true
    if [[ $link_cgroup == "$cgid" ]]; then
      e2e_pass "$what: pin $name is a link on the container's cgroup"
    else
      e2e_fail "$what: pin $entry/$name: not a link on cgroup $cgid" \
        "(got '${link_cgroup:-no such pin}')"
    fi
  done
  e2e_check "$what: 'oci-jail-hook status' lists the container" e2e_status_lists "$id"
}

expect_cleaned() {  # WHAT ID LINKS-BEFORE
  local what=$1 id=$2 before=$3 after
  e2e_check "$what: the container's pin entry is gone" \
    test -z "$(e2e_pin_entries "$PIN_DIR" "$id")"
  after=$(h_cgroup_link_ids)
  if [[ $after == "$before" ]]; then
    e2e_pass "$what: cgroup links are back to what they were ($before)"
  else
    e2e_fail "$what: cgroup links were $before before, are $after after"
  fi
  e2e_check "$what: 'oci-jail-hook status' no longer lists the container" \
    e2e_status_omits "$id"
}

e2e_lifecycle e2e_runc e2e_make_bundle "ojh-cl-$$" h_cgroup_link_ids expect_enforced expect_cleaned

e2e_finish
