// Keeps one issue per environment that says whether its server drifted from the last applied
// revision. Drift (DRIFT_EXITCODE 2): open the issue, or update the open one with today's
// report. No drift (0): close the open issue with a comment saying the drift is gone; without
// one, do nothing. The issue is found again by a hidden marker naming the environment, so other
// issues (and other environments') are left alone. Called from actions/github-script.
const fs = require('fs');

const GITHUB_LIMIT = 65536; // GitHub refuses longer issue bodies

function marker(env) {
  return `<!-- azstate-drift: ${env} -->`;
}

function body({ env, report, runUrl, sha }) {
  const head = `${marker(env)}\n## The \`${env}\` server drifted\n\n` +
    `Something changed on the server after the last apply: the server no longer matches the ` +
    `last applied revision (\`azstate-applied/${env}\`). Either apply the configuration again ` +
    `to undo it, or write the change into the configuration.\n\n`;
  const foot = `\n\n<sub>Checked by [this run](${runUrl}) at commit ${sha.slice(0, 7)}. ` +
    `This issue is updated by every check that finds drift and closed by the first that ` +
    `finds none.</sub>\n`;
  let text = report.trim();
  const room = GITHUB_LIMIT - head.length - foot.length - 20;
  if (text.length > room) {
    text = text.slice(0, room) + '\n\n(cut)';
  }
  return head + text + foot;
}

module.exports = async function driftIssue({ github, context, env, dir = '.' }) {
  const name = env.AZSTATE_ENV;
  const drifted = env.DRIFT_EXITCODE === '2';
  const { owner, repo } = context.repo;
  const runUrl = `${context.serverUrl}/${owner}/${repo}/actions/runs/${context.runId}`;
  const issues = await github.paginate(github.rest.issues.listForRepo, {
    owner, repo, state: 'open', per_page: 100,
  });
  const open = issues.find(
    (i) => !i.pull_request && typeof i.body === 'string' && i.body.startsWith(marker(name)),
  );
  if (!drifted) {
    if (!open) {
      return { action: 'none' };
    }
    await github.rest.issues.createComment({
      owner, repo, issue_number: open.number,
      body: `The drift is gone: the server matches the last applied revision again ` +
        `([check](${runUrl})).`,
    });
    await github.rest.issues.update({
      owner, repo, issue_number: open.number, state: 'closed', state_reason: 'completed',
    });
    return { action: 'closed', number: open.number };
  }
  const path = `${dir}/drift.md`;
  const report = fs.existsSync(path) ? fs.readFileSync(path, 'utf8') : '';
  const text = body({ env: name, report, runUrl, sha: context.sha });
  if (open) {
    await github.rest.issues.update({ owner, repo, issue_number: open.number, body: text });
    return { action: 'updated', number: open.number };
  }
  const made = await github.rest.issues.create({
    owner, repo, title: `azstate: the ${name} server drifted from the last applied revision`,
    body: text,
  });
  return { action: 'opened', number: made.data.number };
};
