-- wrk script: POST /api/tickets with an inline customer (a new one per request).
-- The bearer token comes from the TOKEN environment variable.
local counter = 0
local thread_id = 0
local threads = {}

function setup(thread)
  thread:set("id", thread_id)
  thread_id = thread_id + 1
  table.insert(threads, thread)
end

function init(args)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
end

function request()
  counter = counter + 1
  local phone = string.format("0857%02d%07d", id, counter)
  local body = string.format(
    '{"channel":"whatsapp","subject":"Paket belum sampai %d","words":"Kak, sudah 8 hari paket saya belum sampai juga.","product":"Kaos Batik Parang M","order_ref":"INV/2026/%d","category":"late_delivery","customer":{"name":"Pelanggan %d","whatsapp":"%s"}}',
    counter, counter, counter, phone)
  return wrk.format(nil, "/api/tickets", nil, body)
end

function done(summary, latency, requests)
  local non2xx = summary.errors.status
  io.write(string.format("RESULT rps=%.0f p50_ms=%.2f p99_ms=%.2f requests=%d non2xx=%d socket_errors=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.requests, non2xx, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
