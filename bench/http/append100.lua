-- wrk: POST /streams/b-<n> with a batch of 100 events (any version), over 1,000 streams.
local events = {}
for i = 1, 100 do
  events[i] = '{"type":"T","data":{"a":' .. i .. '}}'
end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"events":[' .. table.concat(events, ",") .. ']}'
request = function()
  return wrk.format(nil, "/streams/batch-" .. math.random(1000))
end
