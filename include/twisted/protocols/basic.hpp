// twisted.protocols.basic in one include: framing protocols (lines,
// length-prefixed strings, netstrings) and FileSender.
#pragma once

#include "twisted/protocols/file_sender.hpp"
#include "twisted/protocols/int_string_receiver.hpp"
#include "twisted/protocols/line_receiver.hpp"
#include "twisted/protocols/netstring_receiver.hpp"
