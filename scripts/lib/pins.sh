# Sourced by the setup scripts: `pins_match` is true when every entry of the PINS array
# (name==version) is installed in $VENV at exactly that version, read from package metadata
# without importing anything.
pins_match() {
  "$VENV/bin/python" - "${PINS[@]}" <<'PY'
import sys
from importlib.metadata import version, PackageNotFoundError
for pin in sys.argv[1:]:
    name, want = pin.split("==")
    try:
        if version(name) != want:
            sys.exit(1)
    except PackageNotFoundError:
        sys.exit(1)
PY
}
