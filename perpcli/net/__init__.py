"""net layer (see the README, Architecture): everything between a venue's socket and the store.

- stream.py    StreamSession: one websocket, many subscriptions; ping/pong watchdog, jittered
               reconnect, resubscribe + resnapshot, staleness states, request/response (post).
               Venue specifics come from a StreamProtocol the adapter supplies.
- sink.py      StreamSinks: StoreSink (into ledger.store.Store) and BookSink (own books + a
               latest-wins view mailbox); they turn book verdicts into resyncs and feed health
               into the books' `stale` flag.
- staleness.py per-feed silence tracking, time as an argument.
- coalesce.py  LatestByKey: keyed latest-wins mailbox for slow asyncio readers.
- backoff.py   capped, jittered exponential backoff; retry classification of errors.
- recorder.py  NDJSON frame recordings (in/out/snapshot/connect/disconnect) for replay.
- http1.py     a small stdlib HTTP/1.1 client (POST + keep-alive) with a deadline and body cap per
               request; failures split by whether the request left. REST adapters post through it.
- clock.py     SystemClock and ManualClock.
"""
