# bash completion for pitstop(1). Subcommands come from `pitstop --help`
# itself, so they never drift from the program; driver names from the
# running daemon (`pitstop drivers --output json`), when it answers.

_pitstop_subcommands() {
  "$@" --help 2>/dev/null |
    sed -n '/^Subcommands:/,$ s/^  \([a-z][a-z-]*\) .*/\1/p'
}

_pitstop_drivers() {
  pitstop --timeout 2 drivers --output json 2>/dev/null |
    sed -n 's/.*"name": *"\([^"]*\)".*/\1/p'
}

_pitstop() {
  local cur prev words cword
  _init_completion || return
  local -a cmd=(pitstop)
  local i word
  for ((i = 1; i < cword; i++)); do
    word=${words[i]}
    [[ $word == -* ]] && continue
    if _pitstop_subcommands "${cmd[@]}" | grep -qx -- "$word"; then
      cmd+=("$word")
    fi
  done
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$("${cmd[@]}" --help 2>/dev/null |
      grep -o -- '--[a-z][a-z-]*' | sort -u)" -- "$cur"))
    return
  fi
  local subs
  subs=$(_pitstop_subcommands "${cmd[@]}")
  if [[ -n $subs ]]; then
    COMPREPLY=($(compgen -W "$subs" -- "$cur"))
    return
  fi
  case ${cmd[1]-} in
    install | car | repo | ca) _filedir ;;
    describe | validate | start | stop | restart | reset | remove | upgrade | rollback | call | events)
      COMPREPLY+=($(compgen -W "$(_pitstop_drivers)" -- "$cur")) ;;
  esac
} && complete -F _pitstop pitstop
