-- wrk script for bench/http/run.sh: every request names its client in header X-Client.
--   CLIENTS=known  (default) each request picks one of KNOWN_CLIENTS (default 1000) ids at random
--   CLIENTS=new    each request names a client never seen before: unique across wrk threads, and across runs
--                  against one server as long as each run gets its own RUN_ID (e.g. warm-up and measured run)
local population = os.getenv("CLIENTS") or "known"
local known_clients = tonumber(os.getenv("KNOWN_CLIENTS") or "1000")
local run_id = os.getenv("RUN_ID") or tostring(os.time())

if population ~= "known" and population ~= "new" then
  error("CLIENTS must be 'known' or 'new', not '" .. population .. "'")
end

local next_thread = 0

function setup(thread)
  thread:set("thread_id", next_thread)
  next_thread = next_thread + 1
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
