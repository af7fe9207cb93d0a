#!/usr/bin/env bash
# The device tool sends the working tree (tracked files present on disk, untracked files git does
# not ignore) plus the carried .gpu bundle, and refuses more than 64 MiB. The repository is larger
# (tokenizer and family fixtures, references, data), so for the duration of a device call what the
# device does not need moves aside into .travel-stash/ (ignored through .git/info/exclude) and
# comes back afterwards. What travels is listed in bench/gpu/travel.list.
#
#   bash bench/gpu/travel.sh plan   the travelling total after `out`, without moving anything;
#                                   exits 1 above the limit (60 MiB unless QT_TRAVEL_LIMIT_MIB says)
#   bash bench/gpu/travel.sh out    moves the rest aside; refuses, and moves nothing, above the limit
#   bash bench/gpu/travel.sh back   puts it back (never overwrites a file that is there again)
#   bash bench/gpu/travel.sh size   the travelling total as the tree stands now
#
# The .gpu bundle's size is measured where .gpu exists; elsewhere (a clone without it, CI) the size
# bench/gpu/bundle.sh last recorded in bench/gpu/bundle-size.txt stands in.
set -euo pipefail
root=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
cd "$root"
stash=.travel-stash
list=bench/gpu/travel.list
limit_mib=${QT_TRAVEL_LIMIT_MIB:-60}

# Every path that would travel now: tracked files on disk, and untracked files git does not ignore.
tree_files() {
  git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
    [ -f "$f" ] && [ ! -L "$f" ] && printf '%s\0' "$f"
  done
}
patterns() { grep -vE '^[[:space:]]*(#|$)' "$list"; }
staying() { tree_files | grep -zEf <(patterns) || true; }
leaving() { tree_files | grep -zvEf <(patterns) || true; }
bytes() { xargs -0 -r stat -c %s -- | awk '{ s += $1 } END { print s + 0 }'; }

bundle_bytes() {
  if [ -d .gpu ]; then du -sb .gpu | cut -f1
  elif [ -f bench/gpu/bundle-size.txt ]; then awk 'NR == 1 { print $1 }' bench/gpu/bundle-size.txt
  else echo 0; fi
}

report() { # what, tree bytes
  local bundle total
  bundle=$(bundle_bytes); total=$(($2 + bundle))
  echo "travel.sh $1: working tree $(mib "$2") MiB + .gpu $(mib "$bundle") MiB = $(mib "$total") MiB (limit here: $limit_mib MiB; the device tool's: 64 MiB)"
  [ "$total" -le $((limit_mib << 20)) ] || { echo "travel.sh $1: over $limit_mib MiB; trim bench/gpu/travel.list or the bundle" >&2; return 1; }
}
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }

exclude_stash() {
  local exclude
  exclude=$(git rev-parse --git-path info/exclude)
  mkdir -p "$(dirname "$exclude")"
  grep -qx "/$stash/" "$exclude" 2>/dev/null || echo "/$stash/" >> "$exclude"
}

case "${1:-}" in
  plan) report plan "$(staying | bytes)" ;;
  size) report size "$(tree_files | bytes)" ;;
  out)
    [ ! -e "$stash" ] || { echo "travel.sh out: $stash/ exists from an earlier call; run 'bash bench/gpu/travel.sh back' first" >&2; exit 1; }
    report plan "$(staying | bytes)"
    exclude_stash
    n=0
    while IFS= read -r -d '' f; do
      mkdir -p "$stash/$(dirname "$f")"
      mv -- "$f" "$stash/$f"
      n=$((n + 1))
    done < <(leaving)
    echo "travel.sh out: $n files moved into $stash/; after the device call: bash bench/gpu/travel.sh back"
    # What git would still list (an untracked file that no .gitignore covers, say) counts too.
    report size "$(tree_files | bytes)" || { bash "$0" back; exit 1; }
    ;;
  back)
    [ -d "$stash" ] || { echo "travel.sh back: nothing to put back"; exit 0; }
    n=0 kept=0
    while IFS= read -r -d '' s; do
      f=${s#"$stash/"}
      if [ -e "$f" ]; then echo "travel.sh back: $f exists again; its earlier copy stays in $s" >&2; kept=$((kept + 1)); continue; fi
      mkdir -p "$(dirname "$f")"
      mv -- "$s" "$f"
      n=$((n + 1))
    done < <(find "$stash" -type f -print0)
    find "$stash" -depth -type d -empty -delete
    echo "travel.sh back: $n files put back"
    [ "$kept" -eq 0 ] || exit 1
    ;;
  *) echo "usage: bash bench/gpu/travel.sh plan|out|back|size" >&2; exit 2 ;;
esac
