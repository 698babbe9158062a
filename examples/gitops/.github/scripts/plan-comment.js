// Posts the plan of one environment on the pull request, or updates the comment posted before.
// The comment is found again by a hidden marker naming the environment, so each push edits the
// same comment instead of stacking a new one; other comments (and other environments') are left
// alone. Called from actions/github-script with its `github` and `context`.
const fs = require('fs');

const GITHUB_LIMIT = 65536; // GitHub refuses longer comment bodies

function marker(env) {
  return `<!-- azstate-plan: ${env} -->`;
}

function compared(baseline) {
  // PLAN_BASELINE is "TAG SHORTSHA" when the last applied revision was found, else empty.
  if (!baseline) {
    return 'No applied revision is recorded yet, so the plan cannot tell this change from drift.';
  }
  const [tag, sha] = baseline.split(' ');
  return `Compared with the last applied revision \`${tag}\` (${sha}).`;
}

function body({ env, exitcode, planMarkdown, planError, runUrl, sha, baseline }) {
  let text;
  if (exitcode === '1') {
    const tail = (planError || '').slice(-4000).replace(/```/g, "'''");
    text = `## azstate plan\n\n❌ **The plan failed.** Nothing can be applied until it passes.\n\n` +
      '```\n' + tail.trim() + '\n```';
  } else {
    text = planMarkdown.trim();
  }
  const footer = `<sub>Environment \`${env}\`, commit ${sha.slice(0, 7)}. ` +
    `${compared(baseline)} The whole plan ` +
    `(\`plan\`, \`plan.txt\`) is in the artifact \`azstate-plan-${env}\` of ` +
    `[this run](${runUrl}).</sub>`;
  const out = `${marker(env)}\n${text}\n\n${footer}\n`;
  return out.length <= GITHUB_LIMIT ? out : out.slice(0, GITHUB_LIMIT - 200) + '\n\n(cut)\n';
}

module.exports = async function planComment({ github, context, env, dir = '.' }) {
  const name = env.AZSTATE_ENV;
  const exitcode = env.PLAN_EXITCODE;
  const read = (file) => (fs.existsSync(`${dir}/${file}`) ? fs.readFileSync(`${dir}/${file}`, 'utf8') : '');
  const { owner, repo } = context.repo;
  const issue_number = context.issue.number;
  const text = body({
    env: name,
    exitcode,
    planMarkdown: read('plan.md'),
    planError: read('plan.err'),
    runUrl: `${context.serverUrl}/${owner}/${repo}/actions/runs/${context.runId}`,
    sha: (context.payload.pull_request && context.payload.pull_request.head.sha) || context.sha,
    baseline: env.PLAN_BASELINE,
  });
  const comments = await github.paginate(github.rest.issues.listComments, {
    owner, repo, issue_number, per_page: 100,
  });
  const mine = comments.find((c) => typeof c.body === 'string' && c.body.startsWith(marker(name)));
  if (mine) {
    await github.rest.issues.updateComment({ owner, repo, comment_id: mine.id, body: text });
    return { action: 'updated', id: mine.id };
  }
  const made = await github.rest.issues.createComment({ owner, repo, issue_number, body: text });
  return { action: 'created', id: made.data.id };
};
