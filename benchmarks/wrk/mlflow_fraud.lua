-- Scores one checkout's fraud features with `mlflow models serve` (pyfunc dataframe_split).
-- wrk args: <path of a file holding the JSON body>
local body
function init(args)
  local f = assert(io.open(args[1], "r"))
  body = f:read("*a")
  f:close()
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  return wrk.format("POST", "/invocations", nil, body)
end
