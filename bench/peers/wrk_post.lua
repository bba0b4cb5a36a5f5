-- wrk script for the peer benchmark: POSTs the JSON body read from the file named after `--`
-- on every request, and prints one machine-readable summary line (load_generators.ts reads it),
-- with the count of each failing HTTP status and the start of one such answer.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local file = assert(io.open(args[1], "rb"))
  wrk.body = file:read("*a")
  file:close()
  failed = {}
  failedBody = ""
end

function response(status, headers, body)
  if status >= 400 then
    failed[status] = (failed[status] or 0) + 1
    if failedBody == "" then failedBody = string.sub(body or "", 1, 200) end
  end
end

local function quoted(text)
  return '"' .. string.gsub(text, '[%c"\\]', function(c) return string.format("\\u%04x", string.byte(c)) end) .. '"'
end

function done(summary, latency, requests)
  local statuses, body = {}, ""
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("failed")) do
      table.insert(statuses, string.format('"%d":%d', status, count))
    end
    if body == "" then body = thread:get("failedBody") end
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_SUMMARY {"requests":%d,"durationUs":%d,"p50Us":%d,"p99Us":%d,"meanUs":%.1f,' ..
      '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},"failedStatuses":{%s},"failedBody":%s}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.mean,
    e.connect, e.read, e.write, e.status, e.timeout, table.concat(statuses, ","), quoted(body)))
end
