-- wrk: POST /streams/s-<n> with one event (any version), over 1,000 streams.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"events":[{"type":"T","data":{"a":1}}]}'
request = function()
  return wrk.format(nil, "/streams/http-" .. math.random(1000))
end
