#!/usr/bin/env bash
# Fetch the JavaScript the static site serves itself, so no page loads anything from a CDN:
# require.js and the ipywidgets HTML manager (for sliders), and MathJax 3 (for math).
# Usage: bash book/_ext/vendor.sh   (writes book/_vendor/descent/, skipped if already there)
set -euo pipefail
cd "$(dirname "$0")/../.."
dest=book/_vendor/descent
stamp="$dest/.complete"
packages=("@jupyter-widgets/html-manager@1.0.6" "requirejs@2.3.4" "mathjax@3.2.2")

# axe-core, for the accessibility test of the built site only (tests/test_site.py): it lives
# under tests/, outside the site's static path, and no page loads it.
axe=tests/_vendor/axe-core
axe_version=4.14.1
if [[ ! -f "$axe/axe.min.js" || "$(cat "$axe/.version" 2>/dev/null)" != "$axe_version" ]]; then
  axe_work=$(mktemp -d)
  (cd "$axe_work" && npm pack --silent "axe-core@$axe_version" >/dev/null \
    && tar -xzf axe-core-*.tgz)
  mkdir -p "$axe"
  cp "$axe_work/package/axe.min.js" "$axe_work/package/LICENSE" "$axe/"
  echo "$axe_version" > "$axe/.version"
  rm -rf "$axe_work"
fi

if [[ -f "$stamp" && "$(cat "$stamp")" == "${packages[*]}" ]]; then
  cp book/_ext/widgets-setup.js "$dest/"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "${packages[@]}" >/dev/null)
for tarball in "$work"/*.tgz; do
  name=$(basename "$tarball" .tgz)
  mkdir -p "$work/$name" && tar -xzf "$tarball" -C "$work/$name"
done

rm -rf "$dest" && mkdir -p "$dest/html-manager" "$dest/mathjax"
cp "$work"/requirejs-*/package/require.js "$dest/require.js"
# The AMD bundle and the font files and chunks it loads from its own folder; no source maps.
find "$work"/jupyter-widgets-html-manager-*/package/dist -maxdepth 1 -type f \
  \( -name 'embed-amd.js' -o -name '[0-9]*.embed.js' -o -name '*.woff*' -o -name '*.ttf' \
     -o -name '*.eot' -o -name '*.svg' \) -exec cp {} "$dest/html-manager/" \;
# MathJax: the TeX-to-HTML component, its fonts, and the pieces it loads on demand.
mj=$(echo "$work"/mathjax-*/package/es5)
cp "$mj/tex-chtml.js" "$dest/mathjax/"
mkdir -p "$dest/mathjax/output/chtml/fonts" "$dest/mathjax/input/tex"
cp -r "$mj/output/chtml/fonts/woff-v2" "$dest/mathjax/output/chtml/fonts/"
cp -r "$mj/input/tex/extensions" "$dest/mathjax/input/tex/"
cp -r "$mj/ui" "$mj/a11y" "$dest/mathjax/"
cp "$work"/mathjax-*/package/LICENSE "$dest/mathjax/LICENSE"
cp "$work"/jupyter-widgets-html-manager-*/package/LICENSE "$dest/html-manager/LICENSE"
cp book/_ext/widgets-setup.js "$dest/"
echo "${packages[*]}" > "$stamp"
du -sh "$dest"
