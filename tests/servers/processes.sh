# Sourced by start.sh and stop.sh: the one definition of "this recorded PID is still ours".

# is_ours PID TOKEN: the PID runs (not a zombie) and its command line contains TOKEN.
# The token check guards against a recycled PID.
is_ours() {
  local pid=$1 token=$2 cmd state
  [ -r "/proc/$pid/cmdline" ] || return 1
  state=$(awk '/^State:/ { print $2 }' "/proc/$pid/status" 2>/dev/null) || return 1
  [ "$state" != Z ] || return 1
  cmd=$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null) || return 1
  [[ $cmd == *"$token"* ]]
}
