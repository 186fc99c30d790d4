#!/usr/bin/env bash
# Watches the process that started a local stack; when it is gone (finished, crashed or killed), stops every
# component listed in <state-dir>/pids.json by process group, then removes a temporary state dir.
owner="$1"; state="$2"
while kill -0 "$owner" 2>/dev/null; do sleep 1; done
[ -f "$state/pids.json" ] || exit 0
pids=$(grep -oE '"pid": [0-9]+' "$state/pids.json" | awk '{print $2}' | tac)
for p in $pids; do kill -TERM -- "-$p" 2>/dev/null; done
for _ in $(seq 1 50); do
  alive=0; for p in $pids; do kill -0 "$p" 2>/dev/null && alive=1; done
  [ "$alive" = 0 ] && break; sleep 0.2
done
for p in $pids; do kill -KILL -- "-$p" 2>/dev/null; done
echo '[]' > "$state/pids.json"
[ -f "$state/.temporary" ] && rm -rf "$state"
exit 0
