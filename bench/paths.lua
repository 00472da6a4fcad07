-- wrk request generator: the three routes of the benchmark router, in turn.
local paths = { "/v1/campaigns", "/v1/campaigns/42", "/v1/healthcheck" }
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i % 3) + 1])
end
