-- Asks for the top-10 products of random customers.
-- wrk args: <api key> <customers>
local key, customers
function init(args)
  key = args[1]
  customers = tonumber(args[2])
  math.randomseed(7)
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["X-API-Key"] = key
end

function request()
  local body = string.format('{"customer_id": %d, "k": 10}', math.random(1, customers))
  return wrk.format("POST", "/v1/recommendations", nil, body)
end
