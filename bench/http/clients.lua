-- wrk script for bench/http/run.sh: every request names its client in header X-Client.
--   CLIENTS=known  (default) each request picks one of KNOWN_CLIENTS (default 1000) ids at random
--   CLIENTS=new    each request names a client never seen before: unique across wrk threads, and across runs
--                  against one server as long as each run gets its own RUN_ID (e.g. warm-up and measured run)
--   COUNT_STATUS=1 also counts responses by status (wrk itself only reports "Non-2xx or 3xx") and prints, after wrk's
--                  own summary, one line "status: 2xx: N 3xx: N 4xx: N 429: N 5xx: N other: N" (4xx: other than
--                  429; other: a status outside 200..599). This defines wrk's response() hook, which makes wrk
--                  parse every response in Lua: a little slower, so off by default.
local population = os.getenv("CLIENTS") or "known"
local known_clients = tonumber(os.getenv("KNOWN_CLIENTS") or "1000")
local run_id = os.getenv("RUN_ID") or tostring(os.time())

if population ~= "known" and population ~= "new" then
  error("CLIENTS must be 'known' or 'new', not '" .. population .. "'")
end

local count_status = (os.getenv("COUNT_STATUS") or "") == "1"
local next_thread = 0
local threads = {}

function setup(thread)
  thread:set("thread_id", next_thread)
  next_thread = next_thread + 1
  threads[#threads + 1] = thread
end

local known_requests = {}
local prefix
local counter = 0

function init(args)
  if population == "known" then
    math.randomseed(os.time() * 31 + thread_id)
    for i = 1, known_clients do
      known_requests[i] = wrk.format("GET", "/", { ["X-Client"] = "client-" .. i })
    end
  else
    prefix = run_id .. "-" .. thread_id .. "-"
  end
end

function request()
  if population == "known" then
    return known_requests[math.random(known_clients)]
  end
  counter = counter + 1
  return wrk.format("GET", "/", { ["X-Client"] = prefix .. counter })
end

-- Status counts live in each thread's own Lua state; done() (on the main thread, after the run) adds them up.
local classes = { "2xx", "3xx", "4xx", "429", "5xx", "other" }

if count_status then
  status_counts = { ["2xx"] = 0, ["3xx"] = 0, ["4xx"] = 0, ["429"] = 0, ["5xx"] = 0, ["other"] = 0 }

  function response(status, headers, body)
    local class
    if status == 429 then
      class = "429"
    elseif status >= 200 and status < 600 then
      class = math.floor(status / 100) .. "xx"
    else
      class = "other"
    end
    status_counts[class] = status_counts[class] + 1
  end

  function done(summary, latency, requests)
    local totals = {}
    for _, class in ipairs(classes) do totals[class] = 0 end
    for _, thread in ipairs(threads) do
      local counts = thread:get("status_counts")
      for _, class in ipairs(classes) do totals[class] = totals[class] + (counts[class] or 0) end
    end
    local line = "status:"
    for _, class in ipairs(classes) do line = line .. " " .. class .. ": " .. string.format("%d", totals[class]) end
    io.write(line .. "\n")
  end
end
