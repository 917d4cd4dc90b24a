#!/usr/bin/env bash
# Publish a laid-out `notebooks` branch (python book/_ext/editions.py branch DIR) to a remote.
#
#   bash book/_ext/publish_notebooks.sh DIR [BRANCH] [REMOTE]     # defaults: notebooks, origin
#
# Run inside the repository's checkout (the Book workflow does, with the checkout's credentials).
# The branch gets one new commit whose tree is exactly DIR, on top of its last commit, and only
# when that tree differs: an unchanged rebuild (the editions are byte-identical) pushes nothing.
set -euo pipefail

src=${1:?usage: publish_notebooks.sh DIR [BRANCH] [REMOTE]}
branch=${2:-notebooks}
remote=${3:-origin}
[ -d "$src" ] || { echo "publish_notebooks.sh: no folder $src" >&2; exit 1; }
src=$(cd "$src" && pwd)

parent=""
if git fetch --quiet --depth 1 "$remote" "refs/heads/$branch" 2>/dev/null; then
  parent=$(git rev-parse FETCH_HEAD)
fi

gitdir=$(git rev-parse --absolute-git-dir)
index=$(mktemp)
trap 'rm -f "$index"' EXIT
rm -f "$index"
tree=$(cd "$src" && export GIT_DIR=$gitdir GIT_WORK_TREE=$src GIT_INDEX_FILE=$index &&
       git add --all --force . && git write-tree)

if [ -n "$parent" ] && [ "$(git rev-parse "$parent^{tree}")" = "$tree" ]; then
  echo "$branch: the editions did not change; nothing to publish"
  exit 0
fi

source_commit=$(git rev-parse --short HEAD)
export GIT_AUTHOR_NAME=${GIT_AUTHOR_NAME:-github-actions[bot]}
export GIT_AUTHOR_EMAIL=${GIT_AUTHOR_EMAIL:-41898282+github-actions[bot]@users.noreply.github.com}
export GIT_COMMITTER_NAME=${GIT_COMMITTER_NAME:-$GIT_AUTHOR_NAME}
export GIT_COMMITTER_EMAIL=${GIT_COMMITTER_EMAIL:-$GIT_AUTHOR_EMAIL}
commit=$(git commit-tree "$tree" ${parent:+-p "$parent"} \
  -m "Jupyter editions of the chapters, built from $source_commit")
git push --quiet "$remote" "$commit:refs/heads/$branch"
echo "$branch: published $commit (built from $source_commit)"
