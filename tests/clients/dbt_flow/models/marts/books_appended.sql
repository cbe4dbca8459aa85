{{ config(materialized='incremental') }}

select book_id, title, loaded_at
from {{ ref('stg_books') }}
{% if is_incremental() %}
where loaded_at > (select max(loaded_at) from {{ this }})
{% endif %}
