# Sourced by the bench scripts: install_tools LABEL cmd:package ... installs, with apt-get,
# the packages whose command is missing (bench-only tools, not test dependencies).
install_tools() {
  local label=$1 tool missing=()
  shift
  for tool in "$@"; do
    command -v "${tool%%:*}" >/dev/null || missing+=("${tool##*:}")
  done
  if ((${#missing[@]})); then
    echo "$label: installing ${missing[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}
