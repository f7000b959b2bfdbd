-- Scenario: open a file with a 404_2, take the preferred quick fix, see the finding go, save.
-- env: KERNEL_LSP_FILE (absolute path), KERNEL_LSP_CODE, KERNEL_LSP_SYMBOL
local here = debug.getinfo(1, "S").source:sub(2):match("(.*/)")
local H = dofile(here .. "harness.lua")
dofile(here .. "kernel_lsp_07.lua")

H.run(function()
  local code, symbol = vim.env.KERNEL_LSP_CODE, vim.env.KERNEL_LSP_SYMBOL
  vim.cmd("edit " .. vim.fn.fnameescape(vim.env.KERNEL_LSP_FILE))
  local bufnr = vim.api.nvim_get_current_buf()
  local client = H.client_of(bufnr)
  local sent = H.record_changes(client)
  local sync = client.server_capabilities.textDocumentSync
  H.emit("attached", {
    filetype = vim.bo[bufnr].filetype, root = client.config.root_dir, encoding = client.offset_encoding,
    change = type(sync) == "table" and sync.change or sync,
    keymaps = vim.tbl_map(function(lhs) return vim.fn.maparg(lhs, "n") ~= "" end,
                          { gd = "gd", K = "K", ca = "<leader>ca" }),
  })

  local diag
  H.wait(30000, ("a %s diagnostic for %s"):format(code, symbol),
         function() diag = H.find_diagnostic(bufnr, client.id, code, symbol); return diag ~= nil end)
  H.emit("diagnostic", { diagnostic = diag, all = H.lsp_diagnostics(bufnr, client.id) })

  local params = { textDocument = vim.lsp.util.make_text_document_params(bufnr), range = diag.range,
                   context = { diagnostics = { diag } } }
  local answers, err = vim.lsp.buf_request_sync(bufnr, "textDocument/codeAction", params, 10000)
  assert(answers, "codeAction: " .. tostring(err))
  local actions = answers[client.id] and answers[client.id].result or {}
  H.emit("actions", { actions = actions })
  local fix
  for _, a in ipairs(actions) do
    if a.isPreferred and a.kind == "quickfix" and a.edit then fix = fix or a end
  end
  assert(fix, "no preferred quick fix with an edit")
  vim.lsp.util.apply_workspace_edit(fix.edit, client.offset_encoding)
  H.emit("applied", { title = fix.title, edit = fix.edit, modified = vim.bo[bufnr].modified })

  -- the edit reaches the server as a didChange after the client's debounce; the server rechecks
  H.wait(30000, ("the %s for %s to go"):format(code, symbol), function()
    return #sent > 0 and H.find_diagnostic(bufnr, client.id, code, symbol) == nil
  end)
  vim.cmd("write")
  H.emit("fixed", { changes = sent, remaining = H.lsp_diagnostics(bufnr, client.id),
                    lines = vim.api.nvim_buf_line_count(bufnr) })
end)
