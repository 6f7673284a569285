-- wrk: GET /streams/batch-<n>?limit=100 (streams filled by append100.lua).
request = function()
  return wrk.format("GET", "/streams/batch-" .. math.random(1000) .. "?limit=100")
end
