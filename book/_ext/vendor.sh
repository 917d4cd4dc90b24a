#!/usr/bin/env bash
# Fetch the JavaScript the static site serves itself, so no page loads anything from a CDN:
# require.js and the ipywidgets HTML manager (for sliders), and MathJax 3's fonts; and MathJax 3
# itself for Node.js, which typesets the formulas when the book is built (book/_ext/descent_math.py),
# into book/_ext/node_modules/mathjax (not served: no page runs MathJax).
# Usage: bash book/_ext/vendor.sh   (writes book/_vendor/descent/, skipped if already there)
set -euo pipefail
cd "$(dirname "$0")/../.."
dest=book/_vendor/descent
stamp="$dest/.complete"
# (the last word names how the files are laid out: a change of layout fetches them again)
packages=("@jupyter-widgets/html-manager@1.0.6" "requirejs@2.3.4" "mathjax@3.2.2" "layout-2")
fetch=("${packages[@]:0:3}")

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

if [[ -f "$stamp" && "$(cat "$stamp")" == "${packages[*]}" && -f book/_ext/node_modules/mathjax/package.json ]]; then
  cp book/_ext/widgets-setup.js "$dest/"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "${fetch[@]}" >/dev/null)
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
# MathJax: the whole package for Node.js (the build), and only its fonts for the site, where
# the build writes the stylesheet that names them (_static/descent/mathjax/chtml.css).
rm -rf book/_ext/node_modules/mathjax && mkdir -p book/_ext/node_modules
cp -r "$work"/mathjax-*/package book/_ext/node_modules/mathjax
mj=$(echo "$work"/mathjax-*/package/es5)
mkdir -p "$dest/mathjax/output/chtml/fonts"
cp -r "$mj/output/chtml/fonts/woff-v2" "$dest/mathjax/output/chtml/fonts/"
cp "$work"/mathjax-*/package/LICENSE "$dest/mathjax/LICENSE"
cp "$work"/jupyter-widgets-html-manager-*/package/LICENSE "$dest/html-manager/LICENSE"
cp book/_ext/widgets-setup.js "$dest/"
echo "${packages[*]}" > "$stamp"
du -sh "$dest"
