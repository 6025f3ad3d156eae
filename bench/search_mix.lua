-- wrk script for bench/search_load.py: the paths listed in the file named by $SEARCH_PATHS, taking
-- turns, and the same report line as report.lua when the run ends (wrk runs from the project root).
local paths = {}
for line in io.lines(os.getenv("SEARCH_PATHS")) do
  if line ~= "" then paths[#paths + 1] = line end
end
local turn = 0
request = function()
  turn = turn % #paths + 1
  return wrk.format("GET", paths[turn])
end
dofile("bench/report.lua")
