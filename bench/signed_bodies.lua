-- wrk script: POST pre-signed webhook bodies, one per request, never reusing one (a reused body would be a
-- LINE redelivery, which the bot drops cheaply and would flatter it). File lines: "<signature>\t<body>".
-- Thread t of n sends lines t, t+n, t+2n, ...; when a thread runs out it wraps and counts the wrap.
local threads = {}
local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local path, nthreads = args[1], tonumber(args[2])
  sigs, bodies, idx, wraps = {}, {}, 0, 0
  local n = 0
  for line in io.lines(path) do
    if n % nthreads == tid then
      local tab = string.find(line, "\t", 1, true)
      table.insert(sigs, string.sub(line, 1, tab - 1))
      table.insert(bodies, string.sub(line, tab + 1))
    end
    n = n + 1
  end
end

function request()
  idx = idx + 1
  if idx > #bodies then idx = 1; wraps = wraps + 1 end
  return wrk.format("POST", "/callback",
    {["Content-Type"] = "application/json", ["X-Line-Signature"] = sigs[idx]}, bodies[idx])
end

function done(summary, latency, requests)
  local w = 0
  for _, t in ipairs(threads) do w = w + (t:get("wraps") or 0) end
  io.write(string.format("WRAPS %d\n", w))
end
