// Drives the npm client @nktkas/hyperliquid, unchanged, against a devnet (for
// tests/test_devnet_nktkas_client.py). Argument: the devnet URL. Environment: NKTKAS_MODULES
// (the node_modules folder holding the client and viem), TRADER_KEY and MAKER_KEY (keys never
// go in argv). Prints one JSON line per call: {"name", "ok", "value"} or {"name", "ok", "error"}.
import { pathToFileURL } from "node:url";
import { join } from "node:path";

const modules = process.env.NKTKAS_MODULES;
const load = (rel) => import(pathToFileURL(join(modules, rel)).href);
const hl = await load("@nktkas/hyperliquid/esm/mod.js");
const { privateKeyToAccount, generatePrivateKey } = await load("viem/_esm/accounts/index.js");

const url = process.argv[2];
const transport = new hl.HttpTransport({ isTestnet: true, apiUrl: url, timeout: 10_000 });
const info = new hl.InfoClient({ transport });
const traderWallet = privateKeyToAccount(process.env.TRADER_KEY);
const makerWallet = privateKeyToAccount(process.env.MAKER_KEY);
const trader = new hl.ExchangeClient({ transport, wallet: traderWallet });
const maker = new hl.ExchangeClient({ transport, wallet: makerWallet });
const me = traderWallet.address;
const someone = "0x" + "3c".repeat(20);
const now = Date.now();

async function call(name, fn) {
  try {
    const value = await fn();
    console.log(JSON.stringify({ name, ok: true, value }));
    return value;
  } catch (e) {
    console.log(JSON.stringify({ name, ok: false, error: String(e && e.message ? e.message : e) }));
    return undefined;
  }
}

// -- reads ------------------------------------------------------------------------------------
await call("clearinghouseState", () => info.clearinghouseState({ user: me })); // first look: funded
await call("clearinghouseState_maker", () => info.clearinghouseState({ user: makerWallet.address }));
await call("meta", () => info.meta());
await call("metaAndAssetCtxs", () => info.metaAndAssetCtxs());
await call("meta_dex", () => info.meta({ dex: "xyz" }));
await call("allMids", () => info.allMids());
await call("l2Book", () => info.l2Book({ coin: "BTC", nSigFigs: 5, mantissa: 2 }));
await call("candleSnapshot", () => info.candleSnapshot({ coin: "BTC", interval: "1h", startTime: now - 86_400_000 }));
await call("fundingHistory", () => info.fundingHistory({ coin: "ETH", startTime: now - 86_400_000 }));
await call("recentTrades", () => info.recentTrades({ coin: "BTC" }));
await call("perpDexs", () => info.perpDexs());
await call("spotMeta", () => info.spotMeta());
await call("spotMetaAndAssetCtxs", () => info.spotMetaAndAssetCtxs());
await call("spotClearinghouseState", () => info.spotClearinghouseState({ user: me }));
await call("openOrders", () => info.openOrders({ user: me }));
await call("frontendOpenOrders", () => info.frontendOpenOrders({ user: me }));
await call("userFills", () => info.userFills({ user: me }));
await call("userFillsByTime", () => info.userFillsByTime({ user: me, startTime: 0 }));
await call("userFunding", () => info.userFunding({ user: me, startTime: 0 }));
await call("userNonFundingLedgerUpdates", () => info.userNonFundingLedgerUpdates({ user: me, startTime: 0 }));
await call("historicalOrders", () => info.historicalOrders({ user: me }));
await call("userRateLimit", () => info.userRateLimit({ user: me }));
await call("userRole", () => info.userRole({ user: me }));
await call("userFees", () => info.userFees({ user: me }));
await call("portfolio", () => info.portfolio({ user: me }));
await call("referral", () => info.referral({ user: me }));
await call("subAccounts", () => info.subAccounts({ user: me }));
await call("extraAgents", () => info.extraAgents({ user: me }));
await call("maxBuilderFee", () => info.maxBuilderFee({ user: me, builder: someone }));
await call("approvedBuilders", () => info.approvedBuilders({ user: me }));
await call("predictedFundings", () => info.predictedFundings());
await call("perpsAtOpenInterestCap", () => info.perpsAtOpenInterestCap());
await call("maxMarketOrderNtls", () => info.maxMarketOrderNtls());
await call("perpDeployAuctionStatus", () => info.perpDeployAuctionStatus());
await call("spotDeployState", () => info.spotDeployState({ user: me }));
await call("userToMultiSigSigners", () => info.userToMultiSigSigners({ user: me }));
await call("userAbstraction", () => info.userAbstraction({ user: me }));
await call("userDexAbstraction", () => info.userDexAbstraction({ user: me }));
await call("userVaultEquities", () => info.userVaultEquities({ user: me }));
await call("delegatorSummary", () => info.delegatorSummary({ user: me }));
await call("twapHistory", () => info.twapHistory({ user: me }));
await call("userTwapSliceFills", () => info.userTwapSliceFills({ user: me }));
await call("webData2", () => info.webData2({ user: me }));
await call("activeAssetData", () => info.activeAssetData({ user: me, coin: "ETH" }));
await call("exchangeStatus", () => info.exchangeStatus());

// -- actions ----------------------------------------------------------------------------------
const gtc = { limit: { tif: "Gtc" } };
await call("order_maker_ask", () => maker.order({ orders: [{ a: 1, b: false, p: "3020", s: "0.5", r: false, t: gtc }], grouping: "na" }));
await call("order_maker_bid", () => maker.order({ orders: [{ a: 1, b: true, p: "2980", s: "0.5", r: false, t: gtc }], grouping: "na" }));
await call("updateLeverage", () => trader.updateLeverage({ asset: 1, isCross: false, leverage: 5 }));
await call("order_ioc_fill", () => trader.order({ orders: [{ a: 1, b: true, p: "3100", s: "0.1", r: false, t: { limit: { tif: "Ioc" } } }], grouping: "na" }));
await call("updateIsolatedMargin", () => trader.updateIsolatedMargin({ asset: 1, isBuy: true, ntli: 1_000_000 }));
await call("topUpIsolatedOnlyMargin", () => trader.topUpIsolatedOnlyMargin({ asset: 1, leverage: "4" }));
const cloid = "0x" + "ab".repeat(16);
const rest = await call("order_rest", () => trader.order({ orders: [{ a: 1, b: true, p: "2900", s: "0.02", r: false, t: gtc, c: cloid }], grouping: "na" }));
const oid = rest?.response?.data?.statuses?.[0]?.resting?.oid;
await call("modify", () => trader.modify({ oid, order: { a: 1, b: true, p: "2901", s: "0.02", r: false, t: gtc, c: cloid } }));
await call("batchModify", () => trader.batchModify({ modifies: [{ oid: cloid, order: { a: 1, b: true, p: "2902", s: "0.02", r: false, t: gtc, c: cloid } }] }));
await call("cancelByCloid", () => trader.cancelByCloid({ cancels: [{ asset: 1, cloid }] }));
const again = await call("order_rest_again", () => trader.order({ orders: [{ a: 1, b: true, p: "2900", s: "0.02", r: false, t: gtc }], grouping: "na" }));
const oid2 = again?.response?.data?.statuses?.[0]?.resting?.oid;
await call("cancel", () => trader.cancel({ cancels: [{ a: 1, o: oid2 }] }));
await call("order_positionTpsl", () => trader.order({ orders: [{ a: 1, b: false, p: "2500", s: "0.1", r: true, t: { trigger: { isMarket: true, triggerPx: "2500", tpsl: "sl" } } }], grouping: "positionTpsl" }));
await call("twapOrder", () => trader.twapOrder({ twap: { a: 1, b: true, s: "0.05", r: false, m: 5, t: false } }));
await call("usdClassTransfer", () => trader.usdClassTransfer({ amount: "10", toPerp: false }));
await call("usdSend", () => trader.usdSend({ destination: someone, amount: "2" }));
await call("spotSend", () => trader.spotSend({ destination: someone, token: "USDC:0x6d1e7cde53ba9467b783cb7c530ce054", amount: "1" }));
await call("sendAsset", () => trader.sendAsset({ destination: me, sourceDex: "", destinationDex: "xyz", token: "USDC:0x6d1e7cde53ba9467b783cb7c530ce054", amount: "3" }));
await call("approveAgent", () => trader.approveAgent({ agentAddress: privateKeyToAccount(generatePrivateKey()).address, agentName: "nktkas-bot" }));
await call("approveBuilderFee", () => trader.approveBuilderFee({ maxFeeRate: "0.01%", builder: someone }));
const sub = await call("createSubAccount", () => trader.createSubAccount({ name: "nktkas-sub" }));
await call("subAccountTransfer", () => trader.subAccountTransfer({ subAccountUser: sub?.response?.data, isDeposit: true, usd: 1_000_000 }));
await call("subAccountSpotTransfer", () => trader.subAccountSpotTransfer({ subAccountUser: sub?.response?.data, isDeposit: true, token: "USDC:0x6d1e7cde53ba9467b783cb7c530ce054", amount: "1" }));
await call("evmUserModify", () => trader.evmUserModify({ usingBigBlocks: false }));
await call("userSetAbstraction", () => trader.userSetAbstraction({ user: me, abstraction: "disabled" }));
await call("noop", () => trader.noop({ nonce: Date.now() + 1000 }));
await call("withdraw3", () => trader.withdraw3({ destination: me, amount: "2" }));
// Refused as the venue refuses them (see the Python test for the expected text).
await call("scheduleCancel", () => trader.scheduleCancel({ time: now + 60_000 }));
await call("setReferrer", () => trader.setReferrer({ code: "NOPE" }));
await call("vaultTransfer", () => trader.vaultTransfer({ vaultAddress: someone, isDeposit: true, usd: 1_000_000 }));
await call("clearinghouseState_after", () => info.clearinghouseState({ user: me }));
await call("clearinghouseState_xyz_after", () => info.clearinghouseState({ user: me, dex: "xyz" }));

// -- websocket subscriptions ------------------------------------------------------------------
// Node 20 has no global WebSocket; ws (installed with viem) stands in, as the client's docs allow.
if (!globalThis.WebSocket) globalThis.WebSocket = (await load("ws/wrapper.mjs")).WebSocket;
const wsUrl = url.replace(/^http/, "ws") + "/ws";
const wsTransport = new hl.WebSocketTransport({ isTestnet: true, url: wsUrl, timeout: 10_000 });
const subs = new hl.SubscriptionClient({ transport: wsTransport });
const got = {};
const channels = {
  l2Book: (cb) => subs.l2Book({ coin: "SOL" }, cb),
  trades: (cb) => subs.trades({ coin: "SOL" }, cb),
  allMids: (cb) => subs.allMids(cb),
  bbo: (cb) => subs.bbo({ coin: "SOL" }, cb),
  candle: (cb) => subs.candle({ coin: "SOL", interval: "1m" }, cb),
  activeAssetCtx: (cb) => subs.activeAssetCtx({ coin: "SOL" }, cb),
  activeAssetData: (cb) => subs.activeAssetData({ user: me, coin: "SOL" }, cb),
  clearinghouseState: (cb) => subs.clearinghouseState({ user: me }, cb),
  openOrders: (cb) => subs.openOrders({ user: me }, cb),
  orderUpdates: (cb) => subs.orderUpdates({ user: me }, cb),
  userEvents: (cb) => subs.userEvents({ user: me }, cb),
  userFills: (cb) => subs.userFills({ user: me }, cb),
  userFundings: (cb) => subs.userFundings({ user: me }, cb),
  userNonFundingLedgerUpdates: (cb) => subs.userNonFundingLedgerUpdates({ user: me }, cb),
  userHistoricalOrders: (cb) => subs.userHistoricalOrders({ user: me }, cb),
  twapStates: (cb) => subs.twapStates({ user: me }, cb),
  spotState: (cb) => subs.spotState({ user: me }, cb),
};
const handles = [];
for (const [name, subscribe] of Object.entries(channels)) {
  try {
    handles.push(await subscribe((data) => { got[name] ??= data; }));
  } catch (e) {
    got[name] = { subscribeError: String(e && e.message ? e.message : e) };
  }
}
await maker.order({ orders: [{ a: 2, b: false, p: "181.5", s: "1", r: false, t: gtc }], grouping: "na" });
await trader.order({ orders: [{ a: 2, b: true, p: "181.5", s: "1", r: false, t: { limit: { tif: "Ioc" } } }], grouping: "na" });
const deadline = Date.now() + 5000;
while (Date.now() < deadline && Object.keys(got).length < Object.keys(channels).length) {
  await new Promise((r) => setTimeout(r, 50));
}
for (const name of Object.keys(channels)) {
  const data = got[name];
  if (data === undefined) console.log(JSON.stringify({ name: `ws_${name}`, ok: false, error: "no message in 5 s" }));
  else if (data.subscribeError) console.log(JSON.stringify({ name: `ws_${name}`, ok: false, error: data.subscribeError }));
  else console.log(JSON.stringify({ name: `ws_${name}`, ok: true, value: data }));
}
for (const h of handles) await h.unsubscribe().catch(() => {});
await wsTransport.close();
