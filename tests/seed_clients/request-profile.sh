#!/bin/bash
# request-profile.sh - CLI tool for profile processing requests

API_BASE="${API_BASE:-http://localhost:8000}"
SOURCE="${SOURCE:-api}"

function request_profile() {
    local username="$1"
    local source="${2:-$SOURCE}"

    if [ -z "$username" ]; then
        echo "‚ùå Error: Username required"
        echo "Usage: $0 <username> [source]"
        exit 1
    fi

    # Remove @ symbol if present
    username=$(echo "$username" | sed 's/^@//')

    echo "üöÄ Requesting profile processing for @$username"
    echo "Source: $source"
    echo "==============================================="

    # Make request
    response=$(curl -s -X POST \
        -H "Content-Type: application/json" \
        "$API_BASE/api/profile/$username/request?source=$source")

    # Parse response
    if echo "$response" | jq -e '.success' > /dev/null; then
        queued=$(echo "$response" | jq -r '.data.queued')
        message=$(echo "$response" | jq -r '.data.message')
        estimated_time=$(echo "$response" | jq -r '.data.estimated_time')
        profile_type=$(echo "$response" | jq -r '.data.profile_type')
        status=$(echo "$response" | jq -r '.data.status')

        echo "‚úÖ $message"
        echo "Profile Type: $profile_type"
        echo "Status: $status"
        echo "Estimated Time: $estimated_time"

        if [ "$queued" = "true" ] && [ "$status" = "pending" ]; then
            queue_position=$(echo "$response" | jq -r '.data.queue_position // "unknown"')
            request_id=$(echo "$response" | jq -r '.data.request_id // "unknown"')

            echo "Queue Position: #$queue_position"
            echo "Request ID: $request_id"
            echo ""
            echo "üîç Monitor progress with:"
            echo "   curl -s $API_BASE/api/profile/$username/status | jq '.data'"
            echo ""
            echo "üîî Starting automatic status monitoring..."

            # Start status monitoring loop
            monitor_profile_status "$username"
        fi

    else
        error_detail=$(echo "$response" | jq -r '.detail // "Unknown error"')
        echo "‚ùå Error: $error_detail"
        exit 1
    fi
}

function monitor_profile_status() {
    local username="$1"
    local check_count=0
    local max_checks=20  # Monitor for 10 minutes (30s intervals)

    while [ $check_count -lt $max_checks ]; do
        sleep 30
        check_count=$((check_count + 1))

        echo "üîç Status check #$check_count for @$username..."

        status_response=$(curl -s "$API_BASE/api/profile/$username/status")

        if echo "$status_response" | jq -e '.success' > /dev/null; then
            completed=$(echo "$status_response" | jq -r '.data.completed')
            current_status=$(echo "$status_response" | jq -r '.data.status // "unknown"')

            if [ "$completed" = "true" ]; then
                echo "‚úÖ Profile processing completed for @$username!"
                echo "üéâ Profile is now available in the system"
                break
            elif [ "$current_status" = "failed" ]; then
                echo "‚ùå Profile processing failed for @$username"
                error_message=$(echo "$status_response" | jq -r '.data.error_message // "Unknown error"')
                echo "Error: $error_message"
                break
            else
                echo "‚è≥ Still processing... Status: $current_status"
                queue_pos=$(echo "$status_response" | jq -r '.data.queue_position // "unknown"')
                echo "   Queue position: #$queue_pos"
            fi
        else
            echo "‚ö†Ô∏è Status check failed - continuing monitoring..."
        fi
    done

    if [ $check_count -eq $max_checks ]; then
        echo "‚è∞ Monitoring timeout reached - profile may still be processing"
        echo "   Check manually: curl $API_BASE/api/profile/$username/status"
    fi
}

# Execute if called directly
if [[ "${BASH_SOURCE[0]}" == "${0}" ]]; then
    request_profile "$@"
fi
