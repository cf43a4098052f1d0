-- Replays real checkouts of the simulated marketplace: their customers, devices, cards,
-- network and shipping hashes, merchants, items and amounts, each posted with a new checkout_id.
-- wrk args: <api key> <first checkout id> <file of JSON bodies, one per line, "%d" where the id goes>
local threads_seen = 0
function setup(thread)
  thread:set("tid", threads_seen)
  threads_seen = threads_seen + 1
end

local key, base
local bodies = {}
local counter = 0

function init(args)
  key = args[1]
  base = tonumber(args[2])
  for line in io.lines(args[3]) do
    bodies[#bodies + 1] = line
  end
  tid = tonumber(tid) or 0
  counter = tid * 7919  -- threads start at different bodies
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["X-API-Key"] = key
end

function request()
  counter = counter + 1
  local body = string.format(bodies[(counter % #bodies) + 1], base + tid * 100000000 + counter)
  return wrk.format("POST", "/v1/checkout/decisions", nil, body)
end
