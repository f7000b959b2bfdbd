-- Test harness for the headless Neovim scenarios: JSON lines on stdout, waits with limits, exit codes.
-- Loaded with dofile() by a scenario script; the scenario runs inside harness.run().
local H = {}

-- the server command and settings for the kernel_lsp_07.lua snippet, from the test's environment
if vim.env.KERNEL_LSP_CMD then
  vim.g.kernel_lsp = { cmd = vim.fn.json_decode(vim.env.KERNEL_LSP_CMD),
                       settings = vim.fn.json_decode(vim.env.KERNEL_LSP_SETTINGS or "{}") }
end

-- the server's window/logMessage lines (root, index statistics) go to lsp.log, shown on failure
vim.lsp.set_log_level("info")

-- one structured line per event: "KLSP <json>", parsed by tests/test_neovim_e2e.py
function H.emit(event, fields)
  local t = fields or {}
  t.event = event
  io.stdout:write("KLSP " .. vim.fn.json_encode(t) .. "\n")
end

-- vim.wait that fails the scenario with `what` when the condition is not met in time
function H.wait(ms, what, cond)
  if not vim.wait(ms, cond, 20) then error(("timed out after %d ms waiting for %s"):format(ms, what), 2) end
end

-- the kernel-lsp client attached to bufnr, once initialized
function H.client_of(bufnr)
  local client
  H.wait(20000, "the kernel-lsp client to attach and initialize", function()
    for _, c in pairs(vim.lsp.buf_get_clients(bufnr)) do
      if c.name == "kernel-lsp" and c.initialized then client = c end
    end
    return client ~= nil
  end)
  return client
end

-- record the contentChanges of every didChange the client sends
function H.record_changes(client)
  local sent, notify = {}, client.notify
  client.notify = function(method, params)
    if method == "textDocument/didChange" then
      for _, c in ipairs(params.contentChanges) do table.insert(sent, c) end
    end
    return notify(method, params)
  end
  return sent
end

-- the buffer's diagnostics from one client, back in LSP form (as vim.lsp.buf.code_action sends them)
function H.lsp_diagnostics(bufnr, client_id)
  local out, seen = {}, {}
  local ns = vim.lsp.diagnostic.get_namespace(client_id)
  for _, d in ipairs(vim.diagnostic.get(bufnr, { namespace = ns })) do
    if not seen[d.lnum] then
      seen[d.lnum] = true
      vim.list_extend(out, vim.lsp.diagnostic.get_line_diagnostics(bufnr, d.lnum, {}, client_id))
    end
  end
  return out
end

function H.find_diagnostic(bufnr, client_id, code, symbol)
  for _, d in ipairs(H.lsp_diagnostics(bufnr, client_id)) do
    if d.code == code and type(d.data) == "table" and d.data.symbol == symbol then return d end
  end
end

-- the first location of a textDocument/definition answer (Location, Location[] or LocationLink[])
function H.first_location(result)
  if type(result) ~= "table" or vim.tbl_isempty(result) then return nil end
  local loc = result.uri and result or result[1]
  return { uri = loc.uri or loc.targetUri, range = loc.range or loc.targetSelectionRange }
end

-- run the scenario; exit 0 after stopping the clients, 1 on any error (with a traceback line)
function H.run(scenario)
  local ok, err = xpcall(scenario, debug.traceback)
  if not ok then H.emit("error", { message = tostring(err) }) end
  local ids = vim.tbl_keys(vim.lsp.get_active_clients())
  vim.lsp.stop_client(vim.lsp.get_active_clients())
  local stopped = vim.wait(5000, function() return #vim.lsp.get_active_clients() == 0 end, 20)
  H.emit("stopped", { clients = #ids, clean = stopped })
  vim.cmd(ok and "qa!" or "cquit 1")
end

return H
