#!/usr/bin/env bash
# Moves the tag azstate-applied/$AZSTATE_ENV to the commit this run applied ($GITHUB_SHA), so
# that pull-request plans and the drift check use it as --baseline. The workflow calls it only
# after a fully successful apply, or when the merge's plan found nothing to apply (the server
# already matches that commit). The tag never moves backwards: when it already points at a
# commit this one does not contain (a later merge was applied first), it stays there.
set -euo pipefail
tag="azstate-applied/${AZSTATE_ENV:?}"
commit="${GITHUB_SHA:?}"
git fetch --quiet --force origin "+refs/tags/$tag:refs/tags/$tag" 2> /dev/null || true
if current=$(git rev-parse --quiet --verify "refs/tags/$tag^{commit}"); then
  if [ "$current" = "$commit" ]; then
    echo "$tag is already at $commit."
    exit 0
  fi
  if ! git merge-base --is-ancestor "$current" "$commit"; then
    echo "::warning::$tag stays at $current, which $commit does not contain."
    exit 0
  fi
fi
git tag --force "$tag" "$commit"
git push --quiet --force origin "refs/tags/$tag"
echo "$tag now names $commit."
