# Sourced by the scripts that need Debian packages or the Python reference
# tools; installs them the way a new user would. Not run on its own.

# ensure_packages WHO REQUIRED PKG...: installs the missing Debian packages
# when running as root; otherwise says how, and fails if REQUIRED is 1.
ensure_packages() {
  local who="$1" required="$2"
  shift 2
  local missing=() pkg
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" = 0 ]; then
    echo "$who: installing ${missing[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  elif [ "$required" = 1 ]; then
    echo "$who: needs ${missing[*]}: sudo apt-get install ${missing[*]}" >&2
    exit 1
  else
    echo "$who: ${missing[*]} missing; install them (sudo apt-get install ${missing[*]}) for the full run" >&2
  fi
}

# The venv of the reference tools, and its pinned requirements.
EVAL_VENV=target/venv-eval
EVAL_REQUIREMENTS=scripts/eval/requirements.txt

# ensure_eval_venv: target/venv-eval with scripts/eval/requirements.txt,
# reinstalled when that file changes.
ensure_eval_venv() {
  [ -x "$EVAL_VENV/bin/python" ] || python3 -m venv "$EVAL_VENV"
  local want have=""
  want="$(sha256sum "$EVAL_REQUIREMENTS" | cut -d' ' -f1)"
  [ -f "$EVAL_VENV/.requirements.sha256" ] && have="$(cat "$EVAL_VENV/.requirements.sha256")"
  if [ "$want" != "$have" ]; then
    "$EVAL_VENV/bin/pip" install -q -r "$EVAL_REQUIREMENTS"
    echo "$want" > "$EVAL_VENV/.requirements.sha256"
  fi
}
