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

# ensure_venv DIR REQUIREMENTS: a venv in DIR with the pinned REQUIREMENTS,
# reinstalled when that file changes.
ensure_venv() {
  local venv="$1" requirements="$2" want have=""
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  want="$(sha256sum "$requirements" | cut -d' ' -f1)"
  [ -f "$venv/.requirements.sha256" ] && have="$(cat "$venv/.requirements.sha256")"
  if [ "$want" != "$have" ]; then
    "$venv/bin/pip" install -q -r "$requirements"
    echo "$want" > "$venv/.requirements.sha256"
  fi
}

# ensure_eval_venv: target/venv-eval with scripts/eval/requirements.txt.
ensure_eval_venv() {
  ensure_venv "$EVAL_VENV" "$EVAL_REQUIREMENTS"
}

# The venv of Basic Pitch's own Python code (the transcription reference).
BASIC_PITCH_VENV=target/venv-basic-pitch
BASIC_PITCH_REQUIREMENTS=scripts/eval/requirements-basic-pitch.txt
BASIC_PITCH_VERSION=0.4.0

# ensure_basic_pitch_venv: target/venv-basic-pitch with its pinned
# requirements, and basic-pitch itself without its TensorFlow dependency.
ensure_basic_pitch_venv() {
  ensure_venv "$BASIC_PITCH_VENV" "$BASIC_PITCH_REQUIREMENTS"
  if ! "$BASIC_PITCH_VENV/bin/pip" show basic-pitch 2>/dev/null | grep -q "^Version: $BASIC_PITCH_VERSION$"; then
    "$BASIC_PITCH_VENV/bin/pip" install -q --no-deps "basic-pitch==$BASIC_PITCH_VERSION"
  fi
}
