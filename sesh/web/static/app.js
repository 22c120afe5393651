// The explorer and staking page (docs/web.md). Reads the bridge's registry API and
// /web/chain; writes only through the reader's own wallet (EIP-1193 window.ethereum),
// with the same calls and the same checks before signing as the `sesh` CLI.
"use strict";

const DECIMALS = 9n;
const UNIT = 10n ** DECIMALS;
const PERMIT_LIFETIME = 3600n; // seconds, as sesh/contracts/token.py
const NETWORKS = { 42161: "arbitrum:mainnet:node", 421614: "arbitrum:sepolia:node", 412346: "arbitrum:devnet:node" };
const state = { chain: null, nodes: [], swarms: [], info: null, votes: null, account: null };

// ----- formatting

function sesh(units) {
  const value = BigInt(units);
  const whole = (value / UNIT).toLocaleString("en-US");
  let frac = (value % UNIT).toString().padStart(Number(DECIMALS), "0").replace(/0+$/, "");
  return `${whole}${frac ? "." + frac : ""} SESH`;
}
function plain(units) {
  const value = BigInt(units);
  const frac = (value % UNIT).toString().padStart(Number(DECIMALS), "0").replace(/0+$/, "");
  return `${value / UNIT}${frac ? "." + frac : ""}`;
}
function parseSesh(text) {
  const match = /^\s*(\d+)(?:\.(\d{0,9}))?\s*$/.exec(String(text).replace(/,/g, ""));
  if (!match) return null;
  return BigInt(match[1]) * UNIT + BigInt((match[2] || "").padEnd(9, "0"));
}
function when(seconds) {
  if (!seconds) return "—";
  return new Date(Number(seconds) * 1000).toLocaleString(undefined, { timeZoneName: "short" });
}
function pct(part, whole) {
  return whole > 0n ? Number((BigInt(part) * 10000n) / BigInt(whole)) / 100 : 0;
}
function esc(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
function short(address) { return address ? `${address.slice(0, 8)}…${address.slice(-6)}` : "—"; }
function network() { return NETWORKS[state.chain.chain_id] || `<your network for chain ${state.chain.chain_id}>`; }
function cmd(text) { return `<code class="cmd">${esc(text)} --network ${esc(network())}</code>`; }
function card(id, label, value) {
  return `<div class="card"><div class="label">${label}</div><div class="value" id="${id}">${value}</div></div>`;
}

// ----- data

async function getJson(path) {
  const response = await fetch(path, { cache: "no-store" });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error || `${path}: HTTP ${response.status}`);
  return body;
}
async function load() {
  const [info, chain, nodes, swarms] = await Promise.all([
    getJson("/info"), getJson("/web/chain"), getJson("/nodes"), getJson("/swarms"),
  ]);
  Object.assign(state, { info, chain, nodes: nodes.nodes, swarms: swarms.swarms });
  state.votes = await getJson("/votes").catch(() => null); // only nodes with a key vote
  state.wallet = state.account ? await getJson(`/web/account/${state.account}`) : null;
}
function nodeById(id) { return state.nodes.find((n) => n.node_id === id); }
function openInfo(id) { return state.chain.open_nodes.find((n) => n.node_id === id); }

// ----- pages

function overview() {
  const count = (s) => state.nodes.filter((n) => n.status === s).length;
  const c = state.chain;
  const open = state.nodes.filter((n) => n.status === "open");
  return `<h1>The network at a glance</h1>
  <div class="cards">
    ${card("stat-active", "Active nodes", count("active"))}
    ${card("stat-open", "Open nodes (staking)", count("open"))}
    ${card("stat-exiting", "Exiting nodes", count("exiting"))}
    ${card("stat-swarms", "Swarms", state.swarms.length)}
    ${card("stat-pool", "Reward pool", sesh(c.pool_balance))}
    ${card("stat-release", "Today's release", sesh(c.todays_release))}
    ${card("stat-released", "Released so far", sesh(c.total_released))}
    ${card("stat-per-node", "Rewards per node so far", sesh(c.reward_per_node))}
    ${card("stat-requirement", "Stake per node", sesh(c.staking_requirement))}
    ${card("stat-pro", "Active Pro subscriptions", c.pro_subscriptions)}
    ${card("stat-names", "Names registered", c.names === null ? "—" : c.names)}
  </div>
  <h2>Releases and rewards per node</h2>${chart(c.releases)}
  <h2>Your stakes and rewards</h2>${myRewards()}
  <h2>Open nodes to stake in</h2>
  ${open.length ? `<table id="open-nodes"><tr><th>node</th><th>operator</th><th>fee</th><th>filled</th>
    <th>minimum contribution</th><th>reserved slots</th><th></th></tr>
    ${open.map(openRow).join("")}</table>` : `<p class="muted" id="open-nodes">No node is collecting stake.</p>`}
  <h2>All nodes</h2>
  <table id="all-nodes"><tr><th>node</th><th>status</th><th>stake</th><th>fee</th><th>operator</th><th>swarm</th></tr>
  ${state.nodes.map((n) => `<tr data-node="${n.node_id}"><td><a href="#/node/${n.node_id}">${n.node_id}</a></td>
    <td class="status">${n.status}</td><td class="stake">${sesh(n.stake)}</td><td>${n.fee_bps / 100} %</td>
    <td class="mono">${short(n.operator)}</td><td class="mono">${n.swarm_id ? BigInt(n.swarm_id).toString(16).padStart(16, "0") : "—"}</td></tr>`).join("")}
  </table>`;
}

function myRewards() {
  const w = state.wallet;
  if (!w) return `<p class="muted" id="my-rewards">Connect a wallet to see them here, or run:</p>${cmd("sesh rewards show")}`;
  if (!w.nodes.length) return `<p id="my-rewards">${w.address} holds ${sesh(w.balance)} and has no stake in any node.</p>`;
  return `<table id="my-rewards"><tr><th>node</th><th>rewards</th><th>stake to claim</th></tr>
    ${w.nodes.map((n) => `<tr data-node="${n.node_id}"><td><a href="#/node/${n.node_id}">${n.node_id}</a></td>
    <td class="rewards">${sesh(n.rewards)}</td><td>${sesh(n.stake)}</td></tr>`).join("")}</table>
    <p><button id="claim-all" type="button">Claim from all my nodes</button> <span class="muted">${w.address} holds ${sesh(w.balance)}</span></p>
    ${cmd("sesh rewards claim")}`;
}

function openRow(n) {
  const o = openInfo(n.node_id) || { min_contribution: "0", requirement: "0", reserved: [] };
  const filled = pct(n.stake, o.requirement);
  return `<tr data-node="${n.node_id}"><td><a href="#/node/${n.node_id}">${n.node_id}</a></td>
    <td class="mono">${short(n.operator)}</td><td class="fee">${n.fee_bps / 100} %</td>
    <td class="filled"><div class="bar"><span style="width:${filled}%"></span></div>${filled} % of ${sesh(o.requirement)}</td>
    <td class="minimum">${sesh(o.min_contribution)}</td>
    <td class="reserved">${o.reserved.length ? o.reserved.map((r) => `${short(r.address)}: ${sesh(r.amount)}`).join("<br>") : "none"}</td>
    <td><a href="#/node/${n.node_id}"><button type="button">Stake</button></a></td></tr>`;
}

function chart(releases) {
  if (!releases.length) return `<p class="muted" id="chart">No release yet: rewards start with the first distribute().</p>`;
  const w = 1000, h = 220, pad = 50;
  let total = 0n, perNode = 0n;
  const points = releases.map((r) => {
    total += BigInt(r.amount); perNode += BigInt(r.reward_per_node);
    return { t: r.time || 0, total, perNode };
  });
  // From the pool's start (nothing released yet) to the chain's time now.
  const t0 = Math.min(state.chain.pool_start, points[0].t);
  const t1 = Math.max(state.chain.chain_time, points[points.length - 1].t, t0 + 1);
  const top = Number(total) || 1;
  const x = (t) => pad + ((t - t0) / (t1 - t0)) * (w - 2 * pad);
  const y = (v) => h - pad + 10 - (Number(v) / top) * (h - pad - 20);
  // Cumulative steps: flat between releases, up at each one.
  const line = (key) => {
    let d = `M${x(t0).toFixed(1)},${y(0n).toFixed(1)}`, last = 0n;
    for (const p of points) {
      d += ` L${x(p.t).toFixed(1)},${y(last).toFixed(1)} L${x(p.t).toFixed(1)},${y(p[key]).toFixed(1)}`;
      last = p[key];
    }
    return d + ` L${x(t1).toFixed(1)},${y(last).toFixed(1)}`;
  };
  const dots = (key, color) => points.map((p) => `<circle cx="${x(p.t).toFixed(1)}" cy="${y(p[key]).toFixed(1)}" r="4" fill="${color}"><title>${esc(when(p.t))}: ${sesh(p[key])}</title></circle>`).join("");
  return `<svg class="chart" id="chart" viewBox="0 0 ${w} ${h}" role="img" aria-label="releases over time">
    <line x1="${pad}" y1="${y(0n)}" x2="${w - pad}" y2="${y(0n)}" stroke="#dde3e8"/>
    <path d="${line("total")}" fill="none" stroke="#00a86b" stroke-width="3"/>${dots("total", "#00a86b")}
    <path d="${line("perNode")}" fill="none" stroke="#3b6fd8" stroke-width="3" stroke-dasharray="6 4"/>${dots("perNode", "#3b6fd8")}
    <text x="${pad}" y="18" font-size="14" fill="#00a86b">— released in total: ${sesh(total)}</text>
    <text x="${pad + 430}" y="18" font-size="14" fill="#3b6fd8">- - to each active node: ${sesh(perNode)}</text>
    <text x="${pad}" y="${h - 8}" font-size="12" fill="#5b6570">${esc(when(t0))} (pool start)</text>
    <text x="${w - pad}" y="${h - 8}" font-size="12" fill="#5b6570" text-anchor="end">${esc(when(t1))}</text>
    </svg><p class="muted">${releases.length} release(s), cumulative; the pool releases 14 % of its balance a year in daily steps, at the staking contract's next state change.</p>`;
}

function nodePage(id) {
  const n = nodeById(id);
  if (!n) return `<h1>Node ${id}</h1><p class="error">No node ${id} on this network.</p>`;
  const o = openInfo(id);
  const peer = state.votes && state.votes.peers.find((p) => p.node_id === id);
  const votes = state.votes ? state.votes.votes.filter((v) => v.node_id === id) : [];
  const swarm = n.swarm_id && state.swarms.find((s) => s.swarm_id === n.swarm_id);
  return `<h1>Node ${id} <span class="muted" id="node-status">${n.status}</span></h1>
  <div class="cards">
    ${card("node-stake", "Stake", sesh(n.stake))}
    ${card("node-fee", "Operator fee", `${n.fee_bps / 100} %`)}
    ${o ? card("node-minimum", "Minimum contribution", sesh(o.min_contribution)) : ""}
    ${card("node-contributors", "Contributors", n.contributors.length)}
    ${card("node-exit", "Exit", exitState(n))}
  </div>
  <table><tr><th>operator</th><td class="mono" id="node-operator">${n.operator}</td></tr>
    <tr><th>endpoint</th><td class="mono">${esc(n.endpoint)}</td></tr>
    <tr><th>Ed25519 key</th><td class="mono">${n.ed25519_pubkey}</td></tr>
    <tr><th>swarm</th><td class="mono">${swarm ? `${BigInt(swarm.swarm_id).toString(16).padStart(16, "0")} (nodes ${swarm.nodes.map((m) => `<a href="#/node/${m.node_id}">${m.node_id}</a>`).join(", ")})` : "not in a swarm"}</td></tr></table>
  <h2>Contributors</h2>
  <table id="node-contributor-list"><tr><th>address</th><th>stake</th></tr>
  ${n.contributors.map((c) => `<tr><td class="mono">${c.address}</td><td class="amount">${sesh(c.amount)}</td></tr>`).join("")}</table>
  <h2>Peer tests and votes <span class="muted">(as this bridge sees them)</span></h2>
  <div id="node-tests">${peer ? `<p>${peer.passed} of ${peer.tests} tests passed; last test ${when(peer.last_test)}, last success ${when(peer.last_ok)};
    ${peer.failures ? `<span class="error">failing for ${peer.failing_for} s (${peer.failures} in a row): ${esc(peer.last_reason || "")}</span>` : `<span class="ok">passing</span>`}</p>`
      : `<p class="muted">This bridge has no peer test of this node (only active nodes are tested, and only by bridges with a node key).</p>`}
    ${votes.length ? `<p>Votes: ${votes.map((v) => `${esc(v.action)} (${esc(v.state)}, ${v.rounds} round(s))`).join("; ")}</p>` : ""}</div>
  ${n.status === "open" ? `<h2>Stake in node ${id}</h2>
    <p><input id="amount" placeholder="amount in SESH" value="${o ? plain(o.min_contribution) : ""}">
    <button id="contribute" type="button">Contribute with permit</button></p>
    ${cmd(`sesh node contribute ${id} <amount>`)}` : ""}
  <h2>Rewards</h2><p><button id="claim" type="button">Claim my rewards</button></p>
  ${cmd(`sesh rewards claim --node ${id}`)}
  ${cmd(`sesh node status ${id}`)}`;
}

// NodeExited's reasons (docs/staking.md).
const EXIT_REASONS = ["exit finalized", "network exit", "removed by a network vote", "liquidated", "cancelled"];
function exitState(n) {
  const parts = [];
  if (n.exit_reason !== null && n.exit_reason !== undefined) parts.push(EXIT_REASONS[n.exit_reason] || `reason ${n.exit_reason}`);
  else if (n.status === "exiting") parts.push("exit requested");
  if (n.exit_unlock_time) parts.push(`stake unlocks ${when(n.exit_unlock_time)}`);
  return parts.length ? parts.join("; ") : "none";
}

function swarmsPage() {
  return `<h1>Swarms</h1><table id="swarm-list"><tr><th>swarm</th><th>nodes</th></tr>
  ${state.swarms.map((s) => `<tr data-swarm="${s.swarm_id_hex}"><td class="mono">${s.swarm_id_hex}</td>
    <td class="members">${s.nodes.map((m) => `<a href="#/node/${m.node_id}">${m.node_id}</a>`).join(", ")}</td></tr>`).join("")}</table>`;
}

async function render() {
  const main = document.getElementById("main");
  try {
    await load();
  } catch (error) {
    main.innerHTML = `<p class="error">The bridge could not answer: ${esc(error.message)}</p>`;
    return;
  }
  const route = location.hash.replace(/^#\/?/, "").split("/");
  if (route[0] === "node") main.innerHTML = nodePage(Number(route[1]));
  else if (route[0] === "swarms") main.innerHTML = swarmsPage();
  else main.innerHTML = overview();
  document.getElementById("footer").textContent =
    `chain ${state.chain.chain_id} · synced to block ${state.info.synced_block} · staking ${state.chain.staking} · times in ${Intl.DateTimeFormat().resolvedOptions().timeZone}`;
  const contribute = document.getElementById("contribute");
  if (contribute) contribute.onclick = () => act(() => contributeFlow(Number(route[1]), document.getElementById("amount").value));
  const claimAll = document.getElementById("claim-all");
  if (claimAll) claimAll.onclick = () => act(claimAllFlow);
  const claim = document.getElementById("claim");
  if (claim) claim.onclick = () => act(() => claimFlow(Number(route[1])));
  document.body.dataset.ready = location.hash || "#/";
}

// ----- the wallet

function notice(text, kind) {
  document.getElementById("notice").innerHTML = `<p class="${kind}" id="notice-text">${esc(text)}</p>`;
}
async function act(flow) {
  for (const b of document.querySelectorAll("button")) b.disabled = true;
  try {
    const text = await flow();
    notice(text, "ok");
    await render();
  } catch (error) {
    notice(error.message, "error");
  } finally {
    for (const b of document.querySelectorAll("button")) b.disabled = false;
  }
}
async function connect() {
  if (!window.ethereum) throw new Error("No browser wallet (window.ethereum): reading works without one; to stake, install one or use the sesh command shown.");
  const [account] = await window.ethereum.request({ method: "eth_requestAccounts" });
  const chainId = parseInt(await window.ethereum.request({ method: "eth_chainId" }), 16);
  if (chainId !== state.chain.chain_id) throw new Error(`the wallet is on chain ${chainId}; this network is chain ${state.chain.chain_id}`);
  state.account = account;
  document.getElementById("account").textContent = short(account);
  document.getElementById("connect").textContent = "Connected";
  return account;
}
const word = (n) => BigInt(n).toString(16).padStart(64, "0");
const hex32 = (h) => h.replace(/^0x/, "").padStart(64, "0");
async function simulateAndSend(from, data, what) {
  const tx = { from, to: state.chain.staking, data };
  try {
    await window.ethereum.request({ method: "eth_call", params: [tx, "latest"] });
  } catch (error) {
    throw new Error(`${what} refused: ${revertReason(error)}`);
  }
  // The gas limit as the CLI sets it (sesh/contracts/base.py): the estimate plus a quarter,
  // since estimates ignore the 63/64 rule of the calls staking makes (the pool's release,
  // token pulls) and a release falling due in the next block costs more than the estimate saw.
  const estimate = BigInt(await window.ethereum.request({ method: "eth_estimateGas", params: [tx] }));
  tx.gas = "0x" + ((estimate * 125n) / 100n).toString(16);
  const hash = await window.ethereum.request({ method: "eth_sendTransaction", params: [tx] });
  for (let i = 0; i < 120; i++) {
    const receipt = await window.ethereum.request({ method: "eth_getTransactionReceipt", params: [hash] });
    if (receipt) {
      if (receipt.status !== "0x1") throw new Error(`${what} reverted in transaction ${hash}`);
      return hash;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${what}: transaction ${hash} not mined after a minute`);
}
function revertReason(error) {
  const data = (error && (error.data && (error.data.data || error.data))) || "";
  if (typeof data === "string" && data.startsWith("0x08c379a0")) {
    const length = parseInt(data.slice(10 + 64, 10 + 128), 16);
    const bytes = data.slice(10 + 128, 10 + 128 + length * 2).match(/../g) || [];
    return new TextDecoder().decode(new Uint8Array(bytes.map((b) => parseInt(b, 16))));
  }
  return (error && error.message) || String(error);
}

async function contributeFlow(nodeId, amountText) {
  const account = await connect();
  await load(); // the checks run on what the chain says now
  const n = nodeById(nodeId);
  const o = openInfo(nodeId);
  if (!n || n.status !== "open" || !o) throw new Error(`staking: node not open (node ${nodeId} is ${n ? n.status : "unknown"})`);
  const units = parseSesh(amountText);
  if (units === null) throw new Error(`not an amount of SESH: ${amountText}`);
  if (units === 0n) throw new Error("staking: zero amount");
  const isNew = !n.contributors.some((c) => c.address.toLowerCase() === account.toLowerCase());
  const slot = o.reserved.find((r) => r.address.toLowerCase() === account.toLowerCase());
  if (isNew && slot && units < BigInt(slot.amount)) throw new Error(`staking: below reserved amount (your slot in node ${nodeId} is ${sesh(slot.amount)})`);
  if (isNew && !slot && units < BigInt(o.min_contribution)) throw new Error(`staking: below min contribution (node ${nodeId} takes at least ${sesh(o.min_contribution)})`);
  const wallet = await getJson(`/web/account/${account}`);
  if (BigInt(wallet.balance) < units) throw new Error(`insufficient balance: ${wallet.address} holds ${sesh(wallet.balance)}, and the contribution needs ${sesh(units)}`);
  const block = await window.ethereum.request({ method: "eth_getBlockByNumber", params: ["latest", false] });
  const deadline = BigInt(block.timestamp) + PERMIT_LIFETIME;
  const c = state.chain;
  const typed = {
    types: {
      EIP712Domain: [{ name: "name", type: "string" }, { name: "version", type: "string" },
        { name: "chainId", type: "uint256" }, { name: "verifyingContract", type: "address" }],
      Permit: [{ name: "owner", type: "address" }, { name: "spender", type: "address" },
        { name: "value", type: "uint256" }, { name: "nonce", type: "uint256" }, { name: "deadline", type: "uint256" }],
    },
    primaryType: "Permit",
    domain: { name: c.token_domain.name, version: c.token_domain.version, chainId: c.token_domain.chain_id, verifyingContract: c.token },
    message: { owner: account, spender: c.staking, value: units.toString(), nonce: wallet.nonce, deadline: deadline.toString() },
  };
  const signature = await window.ethereum.request({ method: "eth_signTypedData_v4", params: [account, JSON.stringify(typed)] });
  const sig = signature.replace(/^0x/, "");
  let v = parseInt(sig.slice(128, 130), 16);
  if (v < 27) v += 27;
  const data = c.selectors.contribute_with_permit + word(nodeId) + word(units) + word(deadline) + word(v) + hex32(sig.slice(0, 64)) + hex32(sig.slice(64, 128));
  const hash = await simulateAndSend(account, data, "the contribution");
  return `contributed ${sesh(units)} to node ${nodeId} (transaction ${hash})`;
}

async function claimFlow(nodeId) {
  const account = await connect();
  const wallet = await getJson(`/web/account/${account}`);
  if (!wallet.nodes.length) throw new Error(`staking: ${wallet.address} has no stake in any node`);
  const mine = wallet.nodes.find((n) => n.node_id === nodeId);
  if (!mine) throw new Error(`staking: ${wallet.address} has no stake in node ${nodeId}`);
  if (BigInt(mine.rewards) === 0n && BigInt(mine.stake) === 0n) throw new Error("staking: nothing to claim");
  const data = state.chain.selectors.claim + word(nodeId);
  const before = BigInt(wallet.balance);
  const hash = await simulateAndSend(account, data, "the claim");
  const after = BigInt((await getJson(`/web/account/${account}`)).balance);
  return `received ${sesh(after - before)} from node ${nodeId} (transaction ${hash})`;
}

// `sesh rewards claim`: one claim_many over every node the account has a stake in.
async function claimAllFlow() {
  const account = await connect();
  const wallet = await getJson(`/web/account/${account}`);
  const ids = wallet.nodes.map((n) => n.node_id);
  if (!ids.length) throw new Error(`staking: ${wallet.address} has no stake in any node`);
  const data = state.chain.selectors.claim_many + word(32) + word(ids.length) + ids.map(word).join("");
  const before = BigInt(wallet.balance);
  const hash = await simulateAndSend(account, data, `the claim from nodes ${ids.join(", ")}`);
  const after = BigInt((await getJson(`/web/account/${account}`)).balance);
  return `received ${sesh(after - before)} from nodes ${ids.join(", ")} (transaction ${hash})`;
}

document.getElementById("connect").onclick = () => act(async () => `connected ${await connect()}`);
window.addEventListener("hashchange", render);
render();
