// A test wallet (EIP-1193): every call goes to the devnet's anvil, whose test accounts are
// unlocked, so anvil itself signs typed data and transactions. window.__testAccount is
// the account the page gets; window.__walletCalls records the methods the page asked for.
(() => {
  const rpc = __RPC__;
  let id = 0;
  window.__testAccount = __ACCOUNT__;
  window.__walletCalls = [];
  window.ethereum = {
    isTestWallet: true,
    async request({ method, params }) {
      window.__walletCalls.push(method);
      if (method === "eth_requestAccounts" || method === "eth_accounts") {
        return [window.__testAccount];
      }
      const response = await fetch(rpc, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: ++id, method, params: params || [] }),
      });
      const body = await response.json();
      if (body.error) {
        const error = new Error(body.error.message);
        error.code = body.error.code;
        error.data = body.error.data;
        throw error;
      }
      return body.result;
    },
    on() {},
    removeListener() {},
  };
})();
