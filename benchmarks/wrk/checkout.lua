-- Posts realistic pay-later checkouts, each with a new checkout_id.
-- wrk args: <api key> <first checkout id> <customers> <merchants> <products> <created_at ISO 8601>
local threads_seen = 0
function setup(thread)
  thread:set("tid", threads_seen)
  threads_seen = threads_seen + 1
end

local key, base, customers, merchants, products, created_at
local counter = 0
local plans = {"pay_in_4", "pay_in_4", "pay_in_4", "pay_monthly_3", "pay_monthly_6", "pay_monthly_12"}
local instruments = {"card", "card", "card", "bank_account", "wallet"}
local countries = {"US", "US", "US", "GB", "DE", "FR", "NG"}

function init(args)
  key = args[1]
  base = tonumber(args[2])
  customers = tonumber(args[3])
  merchants = tonumber(args[4])
  products = tonumber(args[5])
  created_at = args[6]
  tid = tonumber(tid) or 0
  math.randomseed(1000 + tid)
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["X-API-Key"] = key
end

function request()
  counter = counter + 1
  local checkout_id = base + tid * 100000000 + counter
  local customer = math.random(1, customers)
  local n_items = math.random(1, 3)
  local items = {}
  local amount = 0
  for i = 1, n_items do
    local price = math.random(500, 40000)
    local qty = math.random(1, 2)
    amount = amount + price * qty
    items[i] = string.format('{"product_id": %d, "quantity": %d, "unit_price_minor": %d}',
      math.random(1, products), qty, price)
  end
  local country = countries[math.random(#countries)]
  local body = string.format(
    '{"checkout_id": %d, "customer_id": %d, "merchant_id": %d, "amount_minor": %d, "currency": "USD", ' ..
    '"items": [%s], "device": {"device_id": "dev-%d-%d", "ip_country": "%s"}, ' ..
    '"payment_instrument": {"type": "%s", "fingerprint": "fp-%d", "country": "%s"}, "plan_type": "%s", ' ..
    '"created_at": "%s"}',
    checkout_id, customer, math.random(1, merchants), amount, table.concat(items, ", "),
    customer, math.random(1, 2), country, instruments[math.random(#instruments)], customer, country,
    plans[math.random(#plans)], created_at)
  return wrk.format("POST", "/v1/checkout/decisions", nil, body)
end
